// Upgrade from the data directory format 2 build: test/helpers/old-builds.ts, fixture test/fixtures/old-builds/v2-c0c5483.
import { upgradeTest } from './helpers/old-builds.js';

upgradeTest('v2-c0c5483');
