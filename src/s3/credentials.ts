// Server credentials: from SEDIMENT_ACCESS_KEY / SEDIMENT_SECRET_KEY, else from DATA/credentials.json,
// else generated on first start and stored there with mode 0600 (written to tmp, fsync'd, renamed).
import { randomBytes } from 'node:crypto';
import type { FileSystem } from '../io/types.js';

export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  source: 'env' | 'file' | 'generated';
  path?: string;
}

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

function randomAccessKey(): string {
  const bytes = randomBytes(17);
  return 'SED' + [...bytes].map((b) => ALNUM[b % ALNUM.length]).join('');
}

export class CredentialsError extends Error {}

export async function loadCredentials(fs: FileSystem, dataDir: string, env: NodeJS.ProcessEnv): Promise<Credentials> {
  const ak = env.SEDIMENT_ACCESS_KEY;
  const sk = env.SEDIMENT_SECRET_KEY;
  if (ak !== undefined || sk !== undefined) {
    if (!ak || !sk) throw new CredentialsError('set both SEDIMENT_ACCESS_KEY and SEDIMENT_SECRET_KEY, or neither');
    return { accessKeyId: ak, secretAccessKey: sk, source: 'env' };
  }
  const path = `${dataDir}/credentials.json`;
  if (await fs.exists(path)) {
    let parsed: unknown;
    try {
      parsed = JSON.parse((await fs.readFile(path)).toString('utf8'));
    } catch {
      throw new CredentialsError(`${path} is not valid JSON; fix or delete it`);
    }
    const c = parsed as { accessKeyId?: unknown; secretAccessKey?: unknown };
    if (typeof c.accessKeyId !== 'string' || typeof c.secretAccessKey !== 'string' || !c.accessKeyId || !c.secretAccessKey) {
      throw new CredentialsError(`${path} must hold "accessKeyId" and "secretAccessKey"`);
    }
    return { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey, source: 'file', path };
  }
  const creds = { accessKeyId: randomAccessKey(), secretAccessKey: randomBytes(30).toString('base64').replace(/[+/]/g, 'x') };
  const tmp = `${dataDir}/tmp/credentials.json`;
  await fs.writeFile(tmp, Buffer.from(JSON.stringify(creds, null, 2) + '\n'), 0o600);
  await fs.syncFile(tmp);
  await fs.rename(tmp, path);
  await fs.syncDir(dataDir);
  return { ...creds, source: 'generated', path };
}
