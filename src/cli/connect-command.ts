/**
 * `rfc6455 connect <url>`: a WebSocket client for the terminal. With a terminal on stdin it is
 * interactive, like wscat: a readline prompt, incoming (`<`) and outgoing (`>`, the prompt)
 * messages marked and coloured when stdout is a terminal (no colour with `NO_COLOR`), `/ping [data]` and `/close [code] [reason]` commands,
 * and the close code and reason shown at the end. With stdin from a pipe or file it is a filter,
 * like websocat: each stdin line is sent as a text message, each message received is written to
 * stdout as one line, end of input closes with 1000, and the exit status says how it ended (0
 * for a clean close, 1 with a one-line error on stderr otherwise). It parses its own arguments
 * (node:util parseArgs) and throws nothing past `runConnect`'s promise.
 */
import { createInterface, cursorTo, clearLine, type Interface } from 'node:readline';
import { parseArgs } from 'node:util';
import { CloseCode } from '../core/index.js';
import { type ClientOptions, WebSocket } from '../node/index.js';
import { errorLine, ExitStatus, Painter, UsageError } from './terminal.js';

/** `connect --help`. */
export const CONNECT_USAGE = `Usage: rfc6455 connect <url> [options]

Open a WebSocket connection. Interactive when stdin is a terminal (type a line to send it);
otherwise each stdin line is sent as a message and each message received is printed as a line.

Options:
  -H, --header 'Name: value'  add a request header (repeatable)
  -s, --subprotocol <name>    offer a subprotocol (repeatable)
      --origin <origin>       send this Origin header
      --insecure              do not verify the server's TLS certificate
      --proxy <url|env>       connect through an HTTP(S) proxy; 'env' reads HTTPS_PROXY/HTTP_PROXY/NO_PROXY
      --deflate               offer permessage-deflate
  -h, --help                  show this help

Interactive commands:
  /ping [data]                send a ping
  /close [code] [reason]      close the connection (default 1000)
  //text                      send a line that starts with '/'

Exit status: 0 after a clean close, 1 when the connection fails or closes abnormally, 2 for usage errors.
`;

/** Streams the command talks to (the process's, or a test's). */
export interface CommandIo {
  readonly stdin: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?: (mode: boolean) => unknown };
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean };
  readonly stderr: NodeJS.WritableStream;
}

interface ConnectArgs {
  readonly url: string;
  readonly protocols: string[];
  readonly options: ClientOptions;
}

function parseConnectArgs(args: string[]): ConnectArgs | 'help' {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    strict: true,
    options: {
      header: { type: 'string', short: 'H', multiple: true },
      subprotocol: { type: 'string', short: 's', multiple: true },
      origin: { type: 'string' },
      insecure: { type: 'boolean' },
      proxy: { type: 'string' },
      deflate: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help === true) return 'help';
  if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? 'connect needs a URL' : `unexpected argument: ${positionals[1]}`);
  const headers: Record<string, string> = {};
  for (const header of values.header ?? []) {
    const colon = header.indexOf(':');
    if (colon <= 0) throw new UsageError(`header must look like 'Name: value', got '${header}'`);
    headers[header.slice(0, colon).trim()] = header.slice(colon + 1).trim();
  }
  const options: ClientOptions = { headers, perMessageDeflate: values.deflate === true };
  if (values.origin !== undefined) options.origin = values.origin;
  if (values.insecure === true) options.rejectUnauthorized = false;
  if (values.proxy !== undefined) options.proxy = values.proxy;
  return { url: positionals[0]!, protocols: values.subprotocol ?? [], options };
}

/**
 * Run `connect`; resolves with the exit status once the connection is over. Never rejects.
 *
 * @param args - the arguments after `connect`
 */
export async function runConnect(args: string[], io: CommandIo): Promise<ExitStatus> {
  let parsed: ConnectArgs | 'help';
  try {
    parsed = parseConnectArgs(args);
  } catch (error) {
    io.stderr.write(`${errorLine((error as Error).message)}Try 'rfc6455 connect --help'.\n`);
    return ExitStatus.Usage;
  }
  if (parsed === 'help') {
    io.stdout.write(CONNECT_USAGE);
    return ExitStatus.Ok;
  }
  let ws: WebSocket;
  try {
    ws = new WebSocket(parsed.url, parsed.protocols, parsed.options);
  } catch (error) {
    io.stderr.write(errorLine((error as Error).message));
    return ExitStatus.Usage;
  }
  return io.stdin.isTTY === true ? interactive(ws, io) : filter(ws, io);
}

/** How a connection's end maps to an exit status. */
function isCleanClose(code: number): boolean {
  return code === CloseCode.Normal || code === CloseCode.NoStatusReceived;
}

/** Wait for the handshake; null with the error printed when it failed. */
function opened(ws: WebSocket, io: CommandIo): Promise<boolean> {
  return new Promise((resolve) => {
    const onOpen = () => {
      ws.off('error', onError);
      resolve(true);
    };
    const onError = (error: Error) => {
      ws.off('open', onOpen);
      io.stderr.write(errorLine(error.message));
      resolve(false);
    };
    ws.once('open', onOpen);
    ws.once('error', onError);
  });
}

/** Non-interactive: stdin lines out, messages in as lines. */
async function filter(ws: WebSocket, io: CommandIo): Promise<ExitStatus> {
  // Errors after the handshake end the connection too; the close code reports them.
  ws.on('error', () => undefined);
  if (!(await opened(ws, io))) return ExitStatus.Failed;
  // Backpressure both ways: a stdout that does not keep up pauses reading from the server, and a
  // server that does not keep up pauses reading stdin, so neither side grows memory.
  ws.on('message', (data, isBinary) => {
    const written = io.stdout.write(isBinary ? Buffer.concat([data as Buffer, NEWLINE]) : `${String(data)}\n`);
    if (!written && !ws.isPaused) {
      ws.pause();
      io.stdout.once('drain', () => ws.resume());
    }
  });
  const lines = createInterface({ input: io.stdin, crlfDelay: Number.POSITIVE_INFINITY });
  lines.on('line', (line) => {
    if (ws.readyState !== WebSocket.OPEN) return;
    if (!ws.send(line)) {
      lines.pause();
      ws.once('drain', () => lines.resume());
    }
  });
  // End of input: close after everything sent so far (close() sends accepted messages first).
  lines.on('close', () => {
    if (ws.readyState === WebSocket.OPEN) void ws.close(CloseCode.Normal);
  });
  const { code, reason } = await ws.closed;
  lines.close();
  if (isCleanClose(code)) return ExitStatus.Ok;
  io.stderr.write(errorLine(`connection closed with ${code}${reason === '' ? '' : ` (${reason})`}`));
  return ExitStatus.Failed;
}

const NEWLINE = Buffer.from('\n');

/** Interactive: a prompt, marked and coloured messages, slash commands. */
async function interactive(ws: WebSocket, io: CommandIo): Promise<ExitStatus> {
  const out = new Painter(io.stdout);
  ws.on('error', () => undefined);
  if (!(await opened(ws, io))) return ExitStatus.Failed;
  const rl: Interface = createInterface({
    input: io.stdin,
    output: io.stdout,
    terminal: out.tty,
    prompt: out.tty ? out.paint('cyan', '> ') : '',
  });
  /** Print a line above the prompt without breaking what the user is typing. */
  const print = (line: string) => {
    if (out.tty) {
      clearLine(io.stdout, 0);
      cursorTo(io.stdout, 0);
      io.stdout.write(`${line}\n`);
      rl.prompt(true);
    } else {
      io.stdout.write(`${line}\n`);
    }
  };
  const incoming = (text: string) => (out.tty ? out.paint('green', `< ${text}`) : text);
  print(out.paint('yellow', `Connected to ${ws.url}${ws.protocol === '' ? '' : ` (subprotocol: ${ws.protocol})`}; /close to quit`));
  ws.on('message', (data, isBinary) => print(incoming(isBinary ? `<binary ${(data as Buffer).length} bytes: ${(data as Buffer).toString('hex')}>` : String(data))));
  ws.on('ping', (data) => print(out.paint('dim', `< ping${data.length === 0 ? '' : ` ${String(data)}`}`)));
  ws.on('pong', (data) => print(out.paint('dim', `< pong${data.length === 0 ? '' : ` ${String(data)}`}`)));
  let closing = false;
  const closeWith = (code: number, reason: string) => {
    if (closing) {
      ws.terminate();
      return;
    }
    void ws.close(code, reason); // throws for a code or reason that may not be sent: reported below
    closing = true;
  };
  rl.on('line', (line) => {
    try {
      handleLine(line);
    } catch (error) {
      print(out.paint('red', `error: ${(error as Error).message}`));
    }
    if (!closing) rl.prompt();
  });
  const handleLine = (line: string) => {
    if (line.startsWith('//')) {
      ws.send(line.slice(1));
      return;
    }
    if (line === '/ping' || line.startsWith('/ping ')) {
      ws.ping(line.slice(6));
      return;
    }
    if (line === '/close' || line.startsWith('/close ')) {
      const [, codeText, ...words] = line.split(' ');
      const code = codeText === undefined || codeText === '' ? CloseCode.Normal : Number(codeText);
      closeWith(code, words.join(' '));
      return;
    }
    if (line.startsWith('/')) {
      print(out.paint('red', `unknown command ${line.split(' ')[0]} (try /ping, /close, or //text to send text starting with /)`));
      return;
    }
    ws.send(line);
  };
  rl.on('SIGINT', () => closeWith(CloseCode.Normal, ''));
  rl.on('close', () => {
    if (!closing && ws.readyState === WebSocket.OPEN) closeWith(CloseCode.Normal, '');
  });
  rl.prompt();
  const { code, reason } = await ws.closed;
  closing = true;
  rl.close();
  if (out.tty) {
    clearLine(io.stdout, 0);
    cursorTo(io.stdout, 0);
  }
  io.stdout.write(`${out.paint(isCleanClose(code) ? 'yellow' : 'red', `Disconnected (code: ${code}, reason: ${JSON.stringify(reason)})`)}\n`);
  return isCleanClose(code) ? ExitStatus.Ok : ExitStatus.Failed;
}
