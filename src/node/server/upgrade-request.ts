/**
 * What the server's hooks see of an upgrade request: a Node.js `IncomingMessage` in every mode
 * (the `UpgradeRequest` shape is what this library reads of it), the `verify` verdicts and ws's
 * `verifyClient` info. It holds no socket logic.
 */
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';

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

/** The request object hooks and 'connection' listeners get: a real `http.IncomingMessage` in every mode. */
export type AnyUpgradeRequest = IncomingMessage;

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
