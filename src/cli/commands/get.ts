// `get BUCKET/KEY [FILE|-]`: streams an object (or a --range of it) to stdout or a file. A file is
// written through a temporary file and renamed only when every byte arrived and passed its checksum,
// so a failed read leaves no partial output file. (On stdout, bytes already written cannot be taken
// back; the exit status reports the failure.) The engine reads and verifies the first chunk before
// answering, so a missing or damaged object fails before any output is produced.
import { pipeline } from 'node:stream/promises';
import type { Command } from 'commander';
import { contextOf } from '../context.js';
import { withEngine } from '../with-engine.js';
import { resolveOutputPath, writeAtomically } from '../local-files.js';
import { parseObjectPath } from '../paths.js';
import { parseRange, toByteRange } from '../range.js';

interface GetFlags {
  range?: string;
}

export function registerGetCommand(program: Command): void {
  program
    .command('get')
    .description('download BUCKET/KEY to FILE, or to stdout when FILE is "-" or missing')
    .argument('<path>', 'BUCKET/KEY')
    .argument('[file]', 'destination file or directory, or "-" for stdout', '-')
    .option('--range <range>', 'only bytes START-END (inclusive), START- or -LENGTH (the last LENGTH bytes)')
    .action(async (pathArg: string, dest: string, flags: GetFlags, cmd: Command) => {
      const ctx = contextOf(cmd);
      const { bucket, key } = parseObjectPath(pathArg);
      const spec = flags.range === undefined ? undefined : parseRange(flags.range);
      const outPath = dest === '-' ? undefined : await resolveOutputPath(dest, key);
      await withEngine(ctx, {}, async (engine) => {
        const size = spec?.kind === 'suffix' ? (await engine.headObject(bucket, key)).size : 0;
        const result = await engine.getObject(bucket, key, { range: spec && toByteRange(spec, size) });
        if (outPath === undefined) await pipeline(result.body, ctx.stdout);
        else await writeAtomically(outPath, result.body);
      });
    });
}
