// Child-process entry running s3rver (file-per-object S3 server, a devDependency) as a bench reference:
// `node dist/bench/servers/s3rver-main.js DIR` serves DIR on 127.0.0.1 (ephemeral port), silently,
// prints `listening on http://127.0.0.1:PORT` and stops on SIGTERM. Its fixed credentials are
// S3RVER / S3RVER; it checks SigV4 signatures. The caller owns DIR.
import { createRequire } from 'node:module';

interface S3rverInstance {
  run(): Promise<{ port: number }>;
  close(): Promise<void>;
}
type S3rverClass = new (opts: Record<string, unknown>) => S3rverInstance;

const dir = process.argv[2];
if (!dir) {
  process.stderr.write('usage: s3rver-main.js DIR\n');
  process.exit(2);
}
const S3rver = createRequire(import.meta.url)('s3rver') as S3rverClass;
const instance = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: dir });
const { port } = await instance.run();
process.stdout.write(`listening on http://127.0.0.1:${port}\n`);
process.once('SIGTERM', () => {
  void instance.close().then(() => process.exit(0));
});
