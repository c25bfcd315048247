// Upgrade from the data directory format 5 build: test/helpers/old-builds.ts, fixture test/fixtures/old-builds/v5-fe17676.
import { upgradeTest } from './helpers/old-builds.js';

upgradeTest('v5-fe17676');
