// Upgrade from the data directory format 7 build: test/helpers/old-builds.ts, fixture test/fixtures/old-builds/v7-4c51da9.
import { upgradeTest } from './helpers/old-builds.js';

upgradeTest('v7-4c51da9');
