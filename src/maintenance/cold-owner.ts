// Which data directory a cold store belongs to (docs/FORMAT.md §1.2). A migration pass deletes the cold
// segments its own index does not reference, so a store another data directory uses would lose that
// directory's data. Each data directory has a random id (DIR/ID, made by its first migration pass), and
// a cold store names its owner in an OWNER blob, written before a pass first writes or deletes in it. A
// pass in any other data directory is refused before it lists, writes or deletes anything.
import { randomBytes } from 'node:crypto';
import type { FileSystem } from '../io/types.js';
import type { ColdStore } from '../tier/cold-store.js';
import { SedimentError } from '../util/errors.js';

/** The data directory's id file: one line, `sediment-data-dir-id <32 hex digits>\n`. */
export const DATA_DIR_ID_FILE = 'ID';
/** The cold store's owner blob: one line, `sediment-cold-owner <32 hex digits>\n`. */
export const COLD_OWNER_BLOB = 'OWNER';
const ID_LINE = /^sediment-data-dir-id ([0-9a-f]{32})\n$/;
const OWNER_LINE = /^sediment-cold-owner ([0-9a-f]{32})\n$/;
const OWNER_BYTES_MAX = 256;

/**
 * The data directory's id; with `create`, made if missing (tmp file, fsync, rename, fsync of DIR), else
 * undefined if missing. A file that is not an id line is an error: ids are never silently replaced.
 */
export async function dataDirId(fs: FileSystem, dir: string, create: boolean): Promise<string | undefined> {
  const path = `${dir}/${DATA_DIR_ID_FILE}`;
  if (await fs.exists(path)) {
    const m = ID_LINE.exec((await fs.readFile(path)).toString('latin1'));
    if (!m) throw new SedimentError('SEDIMENT_CORRUPTION', `${path} is not a data directory id line ("sediment-data-dir-id" and 32 hex digits)`);
    return m[1]!;
  }
  if (!create) return undefined;
  const id = randomBytes(16).toString('hex');
  await fs.writeFile(`${dir}/tmp/${DATA_DIR_ID_FILE}`, Buffer.from(`sediment-data-dir-id ${id}\n`, 'latin1'));
  await fs.syncFile(`${dir}/tmp/${DATA_DIR_ID_FILE}`);
  await fs.rename(`${dir}/tmp/${DATA_DIR_ID_FILE}`, path);
  await fs.syncDir(dir);
  return id;
}

async function readOwner(store: ColdStore): Promise<string | undefined> {
  const size = await store.stat(COLD_OWNER_BLOB);
  if (size === undefined) return undefined;
  const text = size <= OWNER_BYTES_MAX ? (await store.readRange(COLD_OWNER_BLOB, 0, size)).toString('latin1') : '';
  const m = OWNER_LINE.exec(text);
  if (!m) throw new SedimentError('SEDIMENT_CORRUPTION', `the ${COLD_OWNER_BLOB} blob of cold store ${store.description} is not an owner line`);
  return m[1]!;
}

function foreign(store: ColdStore, owner: string, id: string | undefined, dir: string): SedimentError {
  return new SedimentError(
    'SEDIMENT_COLD_FOREIGN',
    `cold store ${store.description} belongs to another data directory (id ${owner}; ${dir} has ${id === undefined ? 'no id yet' : `id ${id}`}): ` +
      'two data directories must never share a cold store, so nothing was moved or deleted. ' +
      `If ${dir} really is its owner (its ${DATA_DIR_ID_FILE} file was lost), write "sediment-data-dir-id ${owner}" into ${dir}/${DATA_DIR_ID_FILE}`,
  );
}

/**
 * Makes sure `store` belongs to the data directory `dir`. A store owned by another directory is
 * SEDIMENT_COLD_FOREIGN. `check` only reads (a store with no owner passes); `claim`, called before a pass
 * first writes or deletes in the store, also claims a store with no owner: an OWNER blob with the
 * directory's id (made if missing), read back — of two directories claiming one store at once, the one
 * whose blob stayed wins and the other is refused.
 */
export async function claimColdStore(fs: FileSystem, dir: string, store: ColdStore, mode: 'check' | 'claim'): Promise<void> {
  const owner = await readOwner(store);
  const id = await dataDirId(fs, dir, owner === undefined && mode === 'claim');
  if (owner !== undefined) {
    if (owner !== id) throw foreign(store, owner, id, dir);
    return;
  }
  if (mode === 'check') return;
  await store.put(COLD_OWNER_BLOB, Buffer.from(`sediment-cold-owner ${id}\n`, 'latin1'));
  const now = await readOwner(store);
  if (now !== id) throw foreign(store, now ?? '(none)', id, dir);
}
