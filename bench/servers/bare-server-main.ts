// Child-process entry of the bare bench server:
//   node dist/bench/servers/bare-server-main.js [--corrupt] [--pool=KIND;SEED ...]
// builds the data pools named by --pool first (so no GET waits for one), listens on 127.0.0.1 (an
// ephemeral port), prints `listening on http://127.0.0.1:PORT`, stops on SIGTERM.
import type { AddressInfo } from 'node:net';
import { dataPool, parseDataSpec } from '../../src/loadgen/data.js';
import { createBareServer } from './bare-server.js';

for (const arg of process.argv.slice(2)) {
  if (!arg.startsWith('--pool=')) continue;
  const spec = parseDataSpec(arg.slice('--pool='.length));
  if (!spec) throw new Error(`bad ${arg}: expected --pool=log;SEED, random;SEED or zero;SEED`);
  dataPool(spec);
}

const server = createBareServer({ corrupt: process.argv.includes('--corrupt') });
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`listening on http://127.0.0.1:${(server.address() as AddressInfo).port}\n`);
});
process.once('SIGTERM', () => {
  server.close();
  server.closeAllConnections();
});
