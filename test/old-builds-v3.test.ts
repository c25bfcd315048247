// Upgrade from the data directory format 3 build: test/helpers/old-builds.ts, fixture test/fixtures/old-builds/v3-f80b372.
import { upgradeTest } from './helpers/old-builds.js';

upgradeTest('v3-f80b372');
