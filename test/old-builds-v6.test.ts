// Upgrade from the data directory format 6 build: test/helpers/old-builds.ts, fixture test/fixtures/old-builds/v6-2171e88.
import { upgradeTest } from './helpers/old-builds.js';

upgradeTest('v6-2171e88');
