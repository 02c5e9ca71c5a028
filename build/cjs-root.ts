/**
 * The CommonJS root of the package, and through the ESM wrapper (`scripts/esm-wrappers.mjs`)
 * the only implementation both module systems load: `require('rfc6455')` is the `WebSocket`
 * class, as with ws, carrying every named export of `src/index.ts` as a property (ws's own root
 * properties, `Server`, `WebSocketServer`, `WebSocket` and `createWebSocketStream`, are set on
 * the class by the Node layer). It adds no behaviour and defines no name of its own beyond `default` (the class itself).
 */
import * as api from '../src/index.js';

const root = api.WebSocket;
const exported = api as unknown as Record<string, unknown>;
for (const name of Object.keys(exported)) {
  if (name === 'default' || Object.prototype.hasOwnProperty.call(root, name)) continue;
  Object.defineProperty(root, name, { value: exported[name], enumerable: true, writable: true, configurable: true });
}
// The CommonJS declarations (from the same source) declare a `default` export: it is the class,
// so `require('rfc6455').default` is what the types say it is.
Object.defineProperty(root, 'default', { value: root, enumerable: false, writable: true, configurable: true });

export default root;
