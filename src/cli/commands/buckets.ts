// `mb BUCKET` and `rb BUCKET`: create and delete buckets. `mb` is the one command (besides serve)
// that creates the data directory; `rb` refuses a bucket that still holds objects.
import type { Command } from 'commander';
import { contextOf } from '../context.js';
import { say } from '../output.js';
import { withEngine } from '../with-engine.js';
import { parseBucketOnly } from '../paths.js';

export function registerBucketCommands(program: Command): void {
  program
    .command('mb')
    .description('make a bucket (creates the data directory if needed)')
    .argument('<bucket>', 'bucket name (S3 naming rules)')
    .option('--region <region>', 'region recorded for the bucket', 'us-east-1')
    .action(async (arg: string, opts: { region: string }, cmd: Command) => {
      const ctx = contextOf(cmd);
      const bucket = parseBucketOnly(arg);
      await withEngine(ctx, { create: true }, (engine) => engine.createBucket(bucket, { region: opts.region }));
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
}
