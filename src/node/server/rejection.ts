/**
 * The rejection writer: answers a refused upgrade with an HTTP status (the sans-I/O handshake
 * builds the bytes), half-closes, and destroys the socket if the peer does not read the answer
 * within a second, and counts the refusal for the server's stats and diagnostics. It never
 * throws, whatever the socket's state.
 */
import type { Duplex } from 'node:stream';
import { type HandshakeRejection, rejectionResponse } from '../../handshake/index.js';
import type { AdmissionRefusal } from '../../policy/index.js';
import { reportRejection, statsOf } from '../diagnostics.js';

/** How long a refused peer gets to read the answer before the socket is destroyed. */
const LINGER_MS = 1000;

/** Answer a refused upgrade and close the socket. */
export function rejectUpgrade(socket: Duplex, status: number, message: string, headers: readonly (readonly [string, string])[] = []): void {
  if (socket.destroyed) return;
  const remoteAddress = (socket as { remoteAddress?: string }).remoteAddress;
  const stats = statsOf(socket);
  if (stats !== undefined) stats.rejected(status, message, remoteAddress);
  else reportRejection(status, message, remoteAddress);
  let response: string;
  try {
    response = rejectionResponse(status, message, headers);
  } catch {
    // Headers a hook supplied that cannot be sent (CR/LF in a value, say).
    response = rejectionResponse(500, 'internal error');
  }
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  socket.end(response);
  const timer = setTimeout(destroySocket, LINGER_MS, socket);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
}

/** Answer an admission refusal: its status, with `Retry-After` when it has one (429). */
export function refuseAdmission(socket: Duplex, refusal: AdmissionRefusal): void {
  rejectUpgrade(socket, refusal.status, refusal.reason, refusal.retryAfter === undefined ? [] : [['Retry-After', String(refusal.retryAfter)]]);
}

/** Answer with a rejection the handshake validation produced. */
export function rejectWith(socket: Duplex, rejection: HandshakeRejection): void {
  rejectUpgrade(socket, rejection.status, rejection.message, rejection.headers);
}

function destroySocket(socket: Duplex): void {
  socket.destroy();
}
