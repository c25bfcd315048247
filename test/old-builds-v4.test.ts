// Upgrade from the data directory format 4 build: test/helpers/old-builds.ts, fixture test/fixtures/old-builds/v4-b25cded.
import { upgradeTest } from './helpers/old-builds.js';

upgradeTest('v4-b25cded');
