/**
 * What the server's hooks see of an upgrade request: the `UpgradeRequest` shape (like Node's
 * `IncomingMessage`, so ws-style hooks work), the `verify` verdicts, ws's `verifyClient` info,
 * and the request object of standalone mode, whose header record is built only when read. It
 * holds no socket logic.
 */
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { RequestHead } from '../../handshake/index.js';

/** What `verify` and `handleProtocols` see of an upgrade request (shaped like Node's `IncomingMessage`). */
export interface UpgradeRequest {
  readonly method: string;
  /** Request target, e.g. `/chat?room=1`. */
  readonly url: string;
  readonly httpVersion: string;
  /** Lower-case header names to values (repeated headers joined by ", "); null prototype. */
  readonly headers: Readonly<Record<string, string>>;
  /** `[name, value, name, value, …]` as received. */
  readonly rawHeaders: readonly string[];
  /** The underlying socket (remote address and port live here). */
  readonly socket: Socket;
}

/** The request object hooks and 'connection' listeners get: ours in standalone mode, Node's otherwise. */
export type AnyUpgradeRequest = UpgradeRequest | IncomingMessage;

/** Outcome of a `verify` hook. */
export type VerifyResult =
  | boolean
  | { readonly accept: true; readonly user?: unknown; readonly headers?: Readonly<Record<string, string>> }
  | { readonly accept: false; readonly status?: number; readonly message?: string; readonly headers?: Readonly<Record<string, string>> };

/** ws-compatible `verifyClient` information. */
export interface VerifyClientInfo {
  readonly origin: string | undefined;
  readonly secure: boolean;
  readonly req: AnyUpgradeRequest;
}

/** The request as `verify` and `connection` listeners see it in standalone mode; headers are built on first use. */
export class StandaloneRequest implements UpgradeRequest {
  private headerObject: Record<string, string> | null = null;
  private raw: string[] | null = null;

  /**
   * @param head - the parsed request head
   * @param socket - the connection it came on
   */
  constructor(
    private readonly head: RequestHead,
    readonly socket: Socket,
  ) {}

  get method(): string {
    return this.head.method;
  }
  get url(): string {
    return this.head.target;
  }
  get httpVersion(): string {
    return this.head.version;
  }
  get headers(): Readonly<Record<string, string>> {
    return (this.headerObject ??= this.head.headers.toObject());
  }
  get rawHeaders(): readonly string[] {
    if (this.raw === null) {
      this.raw = [];
      for (const [name, value] of this.head.headers.entries()) this.raw.push(name, value);
    }
    return this.raw;
  }
}
