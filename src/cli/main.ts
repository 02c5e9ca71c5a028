#!/usr/bin/env node
/**
 * The `rfc6455` command-line tool (the package's `bin`): picks the command (`connect`, `serve`),
 * runs it with the process's streams, and exits with the status it returns once stdout has been
 * flushed. `--help` (for the tool or for each command) prints usage. It is its own build entry:
 * nothing in the library imports it, and any unexpected failure becomes a one-line error and
 * exit status 1, never a stack trace.
 */
import { CONNECT_USAGE, type CommandIo, runConnect } from './connect-command.js';
import { runServe, SERVE_USAGE } from './serve-command.js';
import { errorLine, ExitStatus } from './terminal.js';

/** `rfc6455 --help`. */
export const USAGE = `Usage: rfc6455 <command> [options]

Commands:
  connect <url>   open a WebSocket connection (interactive on a terminal, a filter on pipes)
  serve           run a WebSocket server for testing (echo or broadcast)

Run 'rfc6455 <command> --help' for a command's options.
`;

/**
 * Run the tool with `argv` (without node and the script); resolves with the exit status.
 */
export async function main(argv: string[], io: CommandIo): Promise<ExitStatus> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'connect':
      return runConnect(rest, io);
    case 'serve':
      return runServe(rest, io);
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      if (command === 'help' && rest[0] === 'connect') io.stdout.write(CONNECT_USAGE);
      else if (command === 'help' && rest[0] === 'serve') io.stdout.write(SERVE_USAGE);
      else io.stdout.write(USAGE);
      return command === undefined ? ExitStatus.Usage : ExitStatus.Ok;
    default:
      io.stderr.write(`${errorLine(`unknown command '${command}'`)}Try 'rfc6455 --help'.\n`);
      return ExitStatus.Usage;
  }
}

// A reader that went away (`rfc6455 connect ... | head -1`) ends the tool with a one-line error, not a stack trace.
process.stdout.on('error', (error: Error) => {
  process.stderr.write(errorLine(`cannot write to stdout: ${error.message}`));
  process.exit(ExitStatus.Failed);
});
const io: CommandIo = { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr };
main(process.argv.slice(2), io).then(
  (status) => exitAfterFlush(status),
  (error: unknown) => {
    process.stderr.write(errorLine(error instanceof Error ? error.message : String(error)));
    exitAfterFlush(ExitStatus.Failed);
  },
);

function exitAfterFlush(status: number): void {
  process.stdout.write('', () => process.exit(status));
}
