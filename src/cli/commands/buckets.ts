// `mb BUCKET` and `rb BUCKET`: create and delete buckets. `mb` is the one command (besides serve)
// that creates the data directory; `rb` refuses a bucket that still holds objects (or, in a versioned
// bucket, any version or delete marker). `versioning BUCKET [Enabled|Suspended]` shows or sets versioning.
import type { Command } from 'commander';
import { contextOf } from '../context.js';
import { say } from '../output.js';
import { withEngine } from '../with-engine.js';
import { parseBucketOnly } from '../paths.js';
import { UsageError } from '../errors.js';

export function registerBucketCommands(program: Command): void {
  program
    .command('mb')
    .description('make a bucket (creates the data directory if needed)')
    .argument('<bucket>', 'bucket name (S3 naming rules)')
    .option('--region <region>', 'region recorded for the bucket', 'us-east-1')
    .option('--object-lock', 'enable Object Lock (versioning on for good; cannot be turned off)')
    .action(async (arg: string, opts: { region: string; objectLock?: boolean }, cmd: Command) => {
      const ctx = contextOf(cmd);
      const bucket = parseBucketOnly(arg);
      await withEngine(ctx, { create: true }, (engine) => engine.createBucket(bucket, { region: opts.region, objectLock: opts.objectLock === true }));
      say(ctx, `make_bucket: ${bucket}`);
    });

  program
    .command('rb')
    .description('remove an empty bucket')
    .argument('<bucket>', 'bucket name')
    .action(async (arg: string, _opts: unknown, cmd: Command) => {
      const ctx = contextOf(cmd);
      const bucket = parseBucketOnly(arg);
      await withEngine(ctx, {}, (engine) => engine.deleteBucket(bucket));
      say(ctx, `remove_bucket: ${bucket}`);
    });

  program
    .command('versioning')
    .description('show a bucket\'s versioning state, or set it (Enabled or Suspended)')
    .argument('<bucket>', 'bucket name')
    .argument('[state]', 'Enabled or Suspended')
    .action(async (arg: string, state: string | undefined, _opts: unknown, cmd: Command) => {
      const ctx = contextOf(cmd);
      const bucket = parseBucketOnly(arg);
      if (state === undefined) {
        const status = await withEngine(ctx, {}, async (engine) => engine.getBucketVersioning(bucket));
        say(ctx, `${bucket}: ${status}`);
        return;
      }
      const wanted = state.charAt(0).toUpperCase() + state.slice(1).toLowerCase();
      if (wanted !== 'Enabled' && wanted !== 'Suspended') throw new UsageError(`versioning state must be Enabled or Suspended, not "${state}"`);
      await withEngine(ctx, {}, (engine) => engine.setBucketVersioning(bucket, wanted));
      say(ctx, `versioning: ${bucket} ${wanted}`);
    });
}
