// `get BUCKET/KEY [FILE|-]`: streams an object (or a --range of it, or one --part of a multipart object)
// to stdout or a file. A regular file is written through a temporary file and renamed only when every
// byte arrived and passed its checksum, so a failed read leaves no partial output file; a FIFO or a
// device is written directly (local-files.ts). (On stdout, bytes already written cannot be taken
// back; the exit status reports the failure.) The engine reads and verifies the first chunk before
// answering, so a missing or damaged object fails before any output is produced.
import { pipeline } from 'node:stream/promises';
import type { Command } from 'commander';
import { contextOf } from '../context.js';
import { withEngine } from '../with-engine.js';
import { openOutputFile } from '../local-files.js';
import { parseObjectPath } from '../paths.js';
import { parseRange, toByteRange } from '../range.js';
import { UsageError } from '../errors.js';

interface GetFlags {
  range?: string;
  part?: string;
  versionId?: string;
}

export function registerGetCommand(program: Command): void {
  program
    .command('get')
    .description('download BUCKET/KEY to FILE, or to stdout when FILE is "-" or missing')
    .argument('<path>', 'BUCKET/KEY')
    .argument('[file]', 'destination file or directory, or "-" for stdout', '-')
    .option('--range <range>', 'only bytes START-END (inclusive), START- or -LENGTH (the last LENGTH bytes)')
    .option('--version-id <id>', 'read this version ("null" for the null version; `sediment ls --versions` lists them)')
    .option('--part <n>', 'only part N of an object uploaded in parts (S3 multipart; 1 is all of any other object)')
    .action(async (pathArg: string, dest: string, flags: GetFlags, cmd: Command) => {
      const ctx = contextOf(cmd);
      const { bucket, key } = parseObjectPath(pathArg);
      const spec = flags.range === undefined ? undefined : parseRange(flags.range);
      if (flags.part !== undefined && !/^[1-9][0-9]{0,4}$/.test(flags.part)) throw new UsageError(`--part must be a part number 1..10000, not "${flags.part}"`);
      if (flags.part !== undefined && spec !== undefined) throw new UsageError('--part and --range cannot be used together');
      const partNumber = flags.part === undefined ? undefined : Number(flags.part);
      const out = dest === '-' ? undefined : await openOutputFile(dest, key);
      try {
        await withEngine(ctx, {}, async (engine) => {
          const versionId = flags.versionId;
          const size = spec?.kind === 'suffix' ? (await engine.headObject(bucket, key, { versionId })).size : 0;
          const result = await engine.getObject(bucket, key, { range: spec && toByteRange(spec, size), partNumber, versionId });
          if (out === undefined) await pipeline(result.body, ctx.stdout);
          else await out.write(result.body);
        });
      } finally {
        await out?.discard();
      }
    });
}
