// Upgrade from the data directory format 1 build: test/helpers/old-builds.ts, fixture test/fixtures/old-builds/v1-496196a.
import { upgradeTest } from './helpers/old-builds.js';

upgradeTest('v1-496196a');
