/**
 * `rfc6455 serve`: a WebSocket server for quick tests. It listens on `--host` (default
 * 127.0.0.1) and `--port` (default 8080; 0 picks a free one), over TLS with `--tls-cert` and
 * `--tls-key`, optionally with permessage-deflate, and either echoes every message to its sender
 * (`--echo`, the default) or sends it to every connected client (`--broadcast`). It prints
 * `listening on <url>` on stdout once it listens, one line per connection and close on stderr,
 * and stops cleanly (1001 to every client) on SIGINT or SIGTERM. Its arguments are parsed with
 * node:util parseArgs; nothing escapes `runServe`'s promise.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { DEFAULT_SERVE_HOST, DEFAULT_SERVE_PORT } from '../core/index.js';
import { WebSocket, WebSocketServer } from '../node/index.js';
import type { CommandIo } from './connect-command.js';
import { errorLine, ExitStatus, UsageError } from './terminal.js';

/** `serve --help`. */
export const SERVE_USAGE = `Usage: rfc6455 serve [options]

Run a WebSocket server for testing.

Options:
      --port <n>          port to listen on (default ${DEFAULT_SERVE_PORT}; 0 picks a free port)
      --host <address>    address to listen on (default ${DEFAULT_SERVE_HOST})
      --echo              send every message back to its sender (default)
      --broadcast         send every message to every connected client, the sender included
      --tls-cert <file>   serve wss:// with this PEM certificate (needs --tls-key)
      --tls-key <file>    the certificate's PEM private key
      --deflate           accept permessage-deflate
  -h, --help              show this help

Prints 'listening on <url>' once listening; stops on SIGINT or SIGTERM.
`;

interface ServeArgs {
  readonly port: number;
  readonly host: string;
  readonly broadcast: boolean;
  readonly tls: { cert: Buffer; key: Buffer } | null;
  readonly deflate: boolean;
}

function parseServeArgs(args: string[]): ServeArgs | 'help' {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    strict: true,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      echo: { type: 'boolean' },
      broadcast: { type: 'boolean' },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      deflate: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help === true) return 'help';
  if (positionals.length !== 0) throw new UsageError(`unexpected argument: ${positionals[0]}`);
  if (values.echo === true && values.broadcast === true) throw new UsageError('--echo and --broadcast exclude each other');
  const port = values.port === undefined ? DEFAULT_SERVE_PORT : Number(values.port);
  if ((values.port !== undefined && !/^\d+$/.test(values.port)) || port > 65535) throw new UsageError(`--port must be a number from 0 to 65535, got '${values.port}'`);
  const certFile = values['tls-cert'];
  const keyFile = values['tls-key'];
  if ((certFile === undefined) !== (keyFile === undefined)) throw new UsageError('--tls-cert and --tls-key go together');
  let tls: ServeArgs['tls'] = null;
  if (certFile !== undefined && keyFile !== undefined) {
    try {
      tls = { cert: readFileSync(certFile), key: readFileSync(keyFile) };
    } catch (error) {
      throw new UsageError(`cannot read the TLS files: ${(error as Error).message}`);
    }
  }
  return { port, host: values.host ?? DEFAULT_SERVE_HOST, broadcast: values.broadcast === true, tls, deflate: values.deflate === true };
}

/**
 * Run `serve` until SIGINT or SIGTERM (or `stop` resolves); resolves with the exit status. Never rejects.
 *
 * @param args - the arguments after `serve`
 * @param stop - resolves when the server should stop (default: the first SIGINT or SIGTERM)
 */
export async function runServe(args: string[], io: CommandIo, stop?: Promise<void>): Promise<ExitStatus> {
  let parsed: ServeArgs | 'help';
  try {
    parsed = parseServeArgs(args);
  } catch (error) {
    io.stderr.write(`${errorLine((error as Error).message)}Try 'rfc6455 serve --help'.\n`);
    return ExitStatus.Usage;
  }
  if (parsed === 'help') {
    io.stdout.write(SERVE_USAGE);
    return ExitStatus.Ok;
  }
  const { port, host, broadcast, tls, deflate } = parsed;
  const wss = new WebSocketServer({ port, host, perMessageDeflate: deflate, ...(tls === null ? {} : { tls }) });
  const listening = await new Promise<Error | null>((resolve) => {
    wss.once('listening', () => resolve(null));
    wss.once('error', resolve);
  });
  if (listening !== null) {
    io.stderr.write(errorLine(`cannot listen on ${host}:${port}: ${listening.message}`));
    await wss.close().catch(() => undefined);
    return ExitStatus.Failed;
  }
  wss.on('error', (error) => io.stderr.write(errorLine(error.message)));
  const address = wss.address();
  const actualPort = address !== null && typeof address === 'object' ? address.port : port;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  io.stdout.write(`listening on ${tls === null ? 'ws' : 'wss'}://${shownHost}:${actualPort}\n`);
  wss.on('connection', (ws, request) => {
    const peer = `${ws.remoteAddress ?? '?'}:${ws.remotePort ?? '?'}`;
    io.stderr.write(`connection from ${peer} ${request.url ?? ''}\n`);
    ws.on('message', (data, isBinary) => {
      if (!broadcast) {
        ws.send(data, { binary: isBinary });
        return;
      }
      for (const client of wss.clients) if (client.readyState === WebSocket.OPEN) client.send(data, { binary: isBinary });
    });
    ws.on('close', (code, reason) => io.stderr.write(`closed ${peer} (${code}${reason.length === 0 ? '' : ` ${String(reason)}`})\n`));
  });
  await (stop ?? signalled());
  await wss.close();
  return ExitStatus.Ok;
}

/** Resolves at the first SIGINT or SIGTERM (and stops listening for them). */
function signalled(): Promise<void> {
  return new Promise((resolve) => {
    const on = () => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
      resolve();
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
}
