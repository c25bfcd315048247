// `rm BUCKET/KEY`: deletes one object. Unlike S3's idempotent DELETE, removing a key that does not
// exist is an error (as with rm(1)) unless --force is given.
import type { Command } from 'commander';
import { contextOf } from '../context.js';
import { say } from '../output.js';
import { withEngine } from '../with-engine.js';
import { CliError } from '../errors.js';
import { parseObjectPath } from '../paths.js';

export function registerRmCommand(program: Command): void {
  program
    .command('rm')
    .description('remove the object BUCKET/KEY')
    .argument('<path>', 'BUCKET/KEY')
    .option('-f, --force', 'succeed even if the object does not exist')
    .action(async (pathArg: string, flags: { force?: boolean }, cmd: Command) => {
      const ctx = contextOf(cmd);
      const { bucket, key } = parseObjectPath(pathArg);
      const { existed } = await withEngine(ctx, {}, (engine) => engine.deleteObject(bucket, key));
      if (!existed && !flags.force) throw new CliError(`object "${bucket}/${key}" does not exist`);
      if (existed) say(ctx, `delete: ${bucket}/${key}`);
    });
}
