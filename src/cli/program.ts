// The command tree. Commander is configured so that none of its own output reaches the user unasked:
// parse errors are thrown (exitOverride) and turned into one line by main.ts, and the help page it
// would print for a missing command is replaced by a one-line hint. Settings are applied before the
// commands are added so every subcommand inherits them. The global options (--data, --durability,
// --quiet) are accepted before or after the command name and shown in every command's help.
import { Command, Option, type CommanderError } from 'commander';
import { registerBenchCommand } from './commands/bench.js';
import { registerBucketCommands } from './commands/buckets.js';
import { registerCompactCommand } from './commands/compact.js';
import { registerGetCommand } from './commands/get.js';
import { registerInfoCommand } from './commands/info.js';
import { registerLifecycleCommand } from './commands/lifecycle.js';
import { registerMigrateCommand } from './commands/migrate.js';
import { registerTieringCommand } from './commands/tiering.js';
import { registerLsCommand } from './commands/ls.js';
import { registerPutCommand } from './commands/put.js';
import { registerRmCommand } from './commands/rm.js';
import { registerServeCommand } from './commands/serve.js';
import { registerStatCommand } from './commands/stat.js';
import { registerVerifyCommand } from './commands/verify.js';
import { dataOption } from './context.js';
import { UsageError } from './errors.js';
import { packageVersion } from './version.js';

const FOOTER = `
Paths are BUCKET or BUCKET/KEY (an s3:// prefix is accepted).
Exit status: 0 success, 1 the operation failed, 2 bad command line.`;

export function buildProgram(): Command {
  const program = new Command('sediment')
    .description('log-structured archive storage: buckets and objects in a local data directory')
    .version(packageVersion(), '-V, --version', 'print the version of sediment')
    .addOption(dataOption())
    .addOption(new Option('--durability <mode>', '"fsync": acknowledged writes are on disk; "none": benchmarks only').choices(['fsync', 'none']).default('fsync'))
    .option('-q, --quiet', 'print only errors, warnings and the data asked for')
    .option('--cold-dir <dir>', 'cold tier in this directory (default: $SEDIMENT_COLD_DIR, else DATA/cold)')
    .option('--cold-s3 <url>', 'cold tier in an S3 bucket, http://host:port/bucket/prefix (default: $SEDIMENT_COLD_S3; keys from $SEDIMENT_COLD_ACCESS_KEY, $SEDIMENT_COLD_SECRET_KEY)')
    .exitOverride()
    .configureOutput({ writeErr: () => undefined, outputError: () => undefined })
    .showSuggestionAfterError(true)
    .configureHelp({ showGlobalOptions: true })
    .addHelpText('after', FOOTER);

  registerBucketCommands(program);
  registerLsCommand(program);
  registerPutCommand(program);
  registerGetCommand(program);
  registerRmCommand(program);
  registerStatCommand(program);
  registerVerifyCommand(program);
  registerInfoCommand(program);
  registerMigrateCommand(program);
  registerTieringCommand(program);
  registerLifecycleCommand(program);
  registerCompactCommand(program);
  registerServeCommand(program);
  registerBenchCommand(program);
  hintMissingCommand(program, 'sediment');
  return program;
}

/**
 * Commander answers both "no subcommand given" and `help NAME` for an unknown NAME by showing the help page
 * as an error (code commander.help), which main.ts would report as a missing command of `sediment`. Each
 * command with subcommands says instead which of the two it was, and names its own --help.
 */
function hintMissingCommand(command: Command, path: string): void {
  command.exitOverride((err: CommanderError) => {
    if (err.code === 'commander.help' && err.exitCode !== 0) {
      const [first, name] = command.args;
      if (first === 'help' && name !== undefined) throw new UsageError(`unknown command '${name}' (run "${path} --help" for the list)`);
      throw new UsageError(`missing command (run "${path} --help" for the list)`);
    }
    throw err;
  });
  for (const sub of command.commands) if (sub.commands.length > 0) hintMissingCommand(sub, `${path} ${sub.name()}`);
}
