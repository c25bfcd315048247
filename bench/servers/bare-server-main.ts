// Child-process entry of the bare bench server: `node dist/bench/servers/bare-server-main.js [--corrupt]`
// listens on 127.0.0.1 (an ephemeral port), prints `listening on http://127.0.0.1:PORT`, stops on SIGTERM.
import type { AddressInfo } from 'node:net';
import { createBareServer } from './bare-server.js';

const server = createBareServer({ corrupt: process.argv.includes('--corrupt') });
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`listening on http://127.0.0.1:${(server.address() as AddressInfo).port}\n`);
});
process.once('SIGTERM', () => {
  server.close();
  server.closeAllConnections();
});
