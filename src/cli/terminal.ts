/**
 * What the command-line tool writes, and how: marks and ANSI colours only when the stream is a
 * terminal (a pipe gets plain lines, so scripts can read them), the one-line error format
 * (`rfc6455: ...`), and the exit statuses. It knows nothing of WebSockets and never exits the
 * process itself.
 */

/** Exit statuses of the tool. */
export const ExitStatus = {
  /** The connection closed cleanly (1000 or 1005), or the server stopped on a signal. */
  Ok: 0,
  /** The connection failed or closed abnormally. */
  Failed: 1,
  /** The command line was wrong. */
  Usage: 2,
} as const;
/** One of the exit statuses. */
export type ExitStatus = (typeof ExitStatus)[keyof typeof ExitStatus];

const CODES = { red: 31, green: 32, yellow: 33, cyan: 36, dim: 2 } as const;
/** A colour the tool uses. */
export type Colour = keyof typeof CODES;

/** Writes lines to one stream, marked and coloured only when it is a terminal. */
export class Painter {
  /** Whether the stream is a terminal (the interactive marks and prompt are used). */
  readonly tty: boolean;
  /** Whether colour is used: on a terminal, unless `NO_COLOR` is set (https://no-color.org). */
  readonly colour: boolean;

  /** @param stream - the stream painted on */
  constructor(stream: { isTTY?: boolean }) {
    this.tty = stream.isTTY === true;
    this.colour = this.tty && (process.env.NO_COLOR ?? '') === '';
  }

  /** `text` in `colour` when colour is used, unchanged otherwise. */
  paint(colour: Colour, text: string): string {
    return this.colour ? `\x1b[${CODES[colour]}m${text}\x1b[0m` : text;
  }
}

/** Thrown for a bad command line; `main` prints it with the command's usage hint and exits 2. */
export class UsageError extends Error {
  /** @param message - what is wrong, lower case */
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** The tool's one-line error, as printed on stderr. */
export function errorLine(message: string): string {
  return `rfc6455: ${message.replace(/\s*\n\s*/g, ' ')}\n`;
}
