// `rm BUCKET/KEY`: deletes one object. Unlike S3's idempotent DELETE, removing a key that does not
// exist is an error (as with rm(1)) unless --force is given, and changes nothing either way. In a
// versioned bucket it adds a delete marker to an existing object (no bytes are removed); `--version-id` removes one version for good, which Object Lock may
// refuse (`--bypass-governance-retention` lifts GOVERNANCE retention only).
import type { Command } from 'commander';
import { contextOf } from '../context.js';
import { say } from '../output.js';
import { withEngine } from '../with-engine.js';
import { CliError } from '../errors.js';
import { parseObjectPath } from '../paths.js';
import { isSedimentError, type Engine } from '../../index.js';

/** True when the key has a current version that is an object (not missing, not a delete marker). */
async function hasCurrentVersion(engine: Engine, bucket: string, key: string): Promise<boolean> {
  try {
    await engine.headObject(bucket, key);
    return true;
  } catch (err) {
    if (isSedimentError(err) && (err.code === 'SEDIMENT_NO_SUCH_KEY' || err.code === 'SEDIMENT_DELETE_MARKER')) return false;
    throw err;
  }
}

export function registerRmCommand(program: Command): void {
  program
    .command('rm')
    .description('remove the object BUCKET/KEY (a delete marker in a versioned bucket), or one version of it')
    .argument('<path>', 'BUCKET/KEY')
    .option('-f, --force', 'succeed even if the object does not exist')
    .option('--version-id <id>', 'remove this version for good ("null" for the null version)')
    .option('--bypass-governance-retention', 'allow removing a version under GOVERNANCE retention')
    .action(async (pathArg: string, flags: { force?: boolean; versionId?: string; bypassGovernanceRetention?: boolean }, cmd: Command) => {
      const ctx = contextOf(cmd);
      const { bucket, key } = parseObjectPath(pathArg);
      const res = await withEngine(ctx, {}, async (engine) => {
        // S3 adds a delete marker even for a key that does not exist; this command first checks, so that a
        // mistyped key is an error and changes nothing. (The CLI holds the directory's lock: nothing can
        // write the key between the check and the delete.)
        if (flags.versionId === undefined && engine.getBucketVersioning(bucket) !== 'Unversioned' && !(await hasCurrentVersion(engine, bucket, key))) {
          return { existed: false };
        }
        return engine.deleteObject(bucket, key, { versionId: flags.versionId, bypassGovernance: flags.bypassGovernanceRetention === true });
      });
      const what = flags.versionId !== undefined ? `version ${flags.versionId} of "${bucket}/${key}"` : `object "${bucket}/${key}"`;
      if (!res.existed && !flags.force) throw new CliError(`${what} does not exist`);
      if (!res.existed) return;
      if (flags.versionId !== undefined) say(ctx, `delete: ${bucket}/${key} version ${res.versionId}${res.deleteMarker ? ' (a delete marker)' : ''}`);
      else if (res.deleteMarker) say(ctx, `delete marker: ${bucket}/${key} version ${res.versionId}`);
      else say(ctx, `delete: ${bucket}/${key}`);
    });
}
