/**
 * The client's `proxy` option against a real proxy: Debian's tinyproxy, started on a loopback
 * port with a temporary config (CONNECT for ws and wss, Basic authentication, a CONNECT port
 * policy, an unreachable server), also reached as an `https://` proxy through a TLS terminator;
 * plus proxies that fail on purpose (a node:net server that answers 502, closes, or never
 * answers). wss goes through the tunnel with SNI and certificate checks against the server, not
 * the proxy. Skipped when tinyproxy is not installed, except in CI, where that is a failure.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode, ReconnectingWebSocket, WebSocket, type WebSocketError, type WebSocketServer } from '../../src/index.js';
import { next, startServer } from '../helpers/node.js';
import { freePort, startTinyproxy, startTlsRelay, type Tinyproxy, tinyproxyBinary } from '../helpers/tinyproxy.js';

const fixtures = join(import.meta.dirname, '..', 'fixtures');
const cert = readFileSync(join(fixtures, 'cert.pem'));
const key = readFileSync(join(fixtures, 'key.pem'));
const inCi = process.env.CI === 'true';

if (tinyproxyBinary === null && !inCi) console.warn('proxy tests skipped: tinyproxy is not installed (apt-get install tinyproxy); in CI they are required');

it.runIf(tinyproxyBinary === null && inCi)('tinyproxy is installed (required in CI)', () => {
  throw new Error('tinyproxy is not installed: .ci/run installs it with apt-get');
});

/** Connect and resolve with the open socket, or with the error the attempt failed with. */
function attempt(url: string, options: ConstructorParameters<typeof WebSocket>[2]): Promise<WebSocket | WebSocketError> {
  const ws = new WebSocket(url, [], { perMessageDeflate: false, ...options });
  return new Promise((resolve) => {
    ws.once('open', () => resolve(ws));
    ws.once('error', (error) => resolve(error as WebSocketError));
  });
}

async function echo(ws: WebSocket, text: string): Promise<string> {
  ws.send(text);
  const [data] = await next<[Buffer]>(ws, 'message');
  return String(data);
}

describe.skipIf(tinyproxyBinary === null)('through tinyproxy', () => {
  let proxy: Tinyproxy;
  let authProxy: Tinyproxy;
  let strictProxy: Tinyproxy;
  let plain: { wss: WebSocketServer; port: number; url: string };
  let secure: { wss: WebSocketServer; port: number; url: string };
  const sni: (string | undefined)[] = [];

  beforeAll(async () => {
    [proxy, authProxy, strictProxy] = await Promise.all([
      startTinyproxy(),
      startTinyproxy({ basicAuth: { user: 'alice', password: 's3cret' } }),
      startTinyproxy({ connectPorts: [443] }),
    ]);
    plain = await startServer();
    secure = await startServer({
      tls: {
        key,
        cert,
        SNICallback: (name, callback) => {
          sni.push(name);
          callback(null, undefined);
        },
      },
    });
    for (const s of [plain.wss, secure.wss]) s.on('connection', (ws) => ws.on('message', (data, binary) => ws.send(data, { binary })));
  });
  afterAll(async () => {
    await Promise.all([plain?.wss.close(), secure?.wss.close(), proxy?.stop(), authProxy?.stop(), strictProxy?.stop()]);
  });

  it('ws:// through a CONNECT tunnel', async () => {
    const ws = await attempt(plain.url, { proxy: proxy.url });
    if (!(ws instanceof WebSocket)) throw ws;
    expect(await echo(ws, 'via tinyproxy')).toBe('via tinyproxy');
    await ws.close();
    // tinyproxy saw the tunnel (its log names the target).
    expect(proxy.log()).toContain(`127.0.0.1:${plain.port}`);
  });

  it('wss:// through the tunnel: SNI and certificate checks are for the server, not the proxy', async () => {
    const target = `wss://localhost:${secure.port}`;
    const ws = await attempt(target, { proxy: proxy.url, ca: cert });
    if (!(ws instanceof WebSocket)) throw ws;
    expect(await echo(ws, 'tls in the tunnel')).toBe('tls in the tunnel');
    await ws.close();
    expect(sni).toContain('localhost');
    // Without the server's CA the server's certificate is refused (the proxy has none to offer).
    const untrusted = await attempt(target, { proxy: proxy.url });
    expect(untrusted).toMatchObject({ code: ErrorCode.CertificateRejected, message: expect.stringMatching(/self[- ]signed|certificate/i) });
    // A name the server's certificate does not carry (127.0.0.2) fails the identity check.
    const other = await startServer({ host: '127.0.0.2', tls: { key, cert } });
    try {
      const mismatch = await attempt(`wss://127.0.0.2:${other.port}`, { proxy: proxy.url, ca: cert });
      expect(mismatch).toMatchObject({ code: ErrorCode.CertificateRejected, message: expect.stringMatching(/altnames|does not match/i) });
    } finally {
      await other.wss.close();
    }
  });

  it('an https:// proxy: TLS to the proxy, then TLS to the server inside it', async () => {
    const relay = await startTlsRelay(proxy.port, { key, cert });
    try {
      const ws = await attempt(`wss://localhost:${secure.port}`, { proxy: `https://localhost:${relay.port}`, proxyTls: { ca: cert }, ca: cert });
      if (!(ws instanceof WebSocket)) throw ws;
      expect(await echo(ws, 'double tls')).toBe('double tls');
      await ws.close();
      // The proxy's certificate is checked with proxyTls, not with the server's options.
      const refused = await attempt(`wss://localhost:${secure.port}`, { proxy: `https://localhost:${relay.port}`, ca: cert });
      expect(refused).toMatchObject({ code: ErrorCode.ProxyConnectionFailed });
    } finally {
      await relay.close();
    }
  });

  it('Proxy-Authorization: 407 without or with wrong credentials, a tunnel with the right ones', async () => {
    const url = new URL(authProxy.url);
    const none = await attempt(plain.url, { proxy: url.href });
    expect(none).toMatchObject({ code: ErrorCode.ProxyAuthRequired, status: 407, message: expect.stringContaining('requires authentication') });
    url.username = 'alice';
    url.password = 'wrong';
    const wrong = await attempt(plain.url, { proxy: url.href });
    // tinyproxy answers wrong credentials with 401 (not 407): the same error code either way.
    expect(wrong).toMatchObject({ code: ErrorCode.ProxyAuthRequired, status: 401, message: expect.stringContaining('refused the credentials') });
    expect((wrong as Error).message).not.toContain('wrong');
    url.password = 's3cret';
    const ws = await attempt(plain.url, { proxy: url });
    if (!(ws instanceof WebSocket)) throw ws;
    expect(await echo(ws, 'authenticated')).toBe('authenticated');
    await ws.close();
  });

  it('403 from a proxy whose policy forbids the port; its status for a server it cannot reach', async () => {
    expect(await attempt(plain.url, { proxy: strictProxy.url })).toMatchObject({ code: ErrorCode.ProxyForbidden, status: 403 });
    const dead = await freePort();
    // tinyproxy answers "500 Unable to connect" here.
    expect(await attempt(`ws://127.0.0.1:${dead}`, { proxy: proxy.url })).toMatchObject({ code: ErrorCode.ProxyRejected, status: 500 });
  });

  it("proxy: 'env' reads HTTP_PROXY and honours NO_PROXY", async () => {
    const saved = { ...process.env };
    try {
      for (const name of ['http_proxy', 'https_proxy', 'no_proxy', 'HTTPS_PROXY', 'NO_PROXY']) delete process.env[name];
      process.env.HTTP_PROXY = `http://127.0.0.1:${await freePort()}`; // nothing listens there
      expect(await attempt(plain.url, { proxy: 'env' })).toMatchObject({ code: ErrorCode.ProxyConnectionFailed });
      process.env.NO_PROXY = 'localhost,127.0.0.1';
      const direct = await attempt(plain.url, { proxy: 'env' });
      expect(direct).toBeInstanceOf(WebSocket);
      await (direct as WebSocket).close();
      delete process.env.NO_PROXY;
      process.env.HTTP_PROXY = proxy.url;
      const tunnelled = await attempt(plain.url, { proxy: 'env' });
      if (!(tunnelled instanceof WebSocket)) throw tunnelled;
      expect(await echo(tunnelled, 'from env')).toBe('from env');
      await tunnelled.close();
    } finally {
      for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
      Object.assign(process.env, saved);
    }
  });

  it('the reconnecting client gives up at once on 407 and retries through the proxy when the server is gone', async () => {
    const refused = new ReconnectingWebSocket(plain.url, { proxy: authProxy.url, backoff: { minDelay: 10 } });
    const [giveUp] = await next<[{ cause: { kind: string; error?: WebSocketError } }]>(refused, 'give-up');
    expect(giveUp.cause.error?.code).toBe(ErrorCode.ProxyAuthRequired);

    const dead = await freePort();
    const retrying = new ReconnectingWebSocket(`ws://127.0.0.1:${dead}`, { proxy: proxy.url, backoff: { minDelay: 10, maxDelay: 20, maxRetries: 1 } });
    const [event] = await next<[{ cause: { kind: string; error?: WebSocketError } }]>(retrying, 'reconnecting');
    expect(event.cause.error?.code).toBe(ErrorCode.ProxyRejected);
    await next(retrying, 'give-up');
  });
});

describe('proxies that fail', () => {
  let server: Server;
  let port: number;
  let behaviour: (socket: Socket) => void = () => undefined;
  const sockets = new Set<Socket>();
  beforeAll(async () => {
    server = createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => undefined);
      socket.once('data', () => behaviour(socket));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
  });
  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => server.close(resolve));
  });

  it('502 Bad Gateway', async () => {
    behaviour = (socket) => socket.end('HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n');
    expect(await attempt('ws://127.0.0.1:9/', { proxy: `http://127.0.0.1:${port}` })).toMatchObject({
      code: ErrorCode.ProxyBadGateway,
      status: 502,
      message: expect.stringContaining('could not reach the server'),
    });
  });

  it('a proxy that never answers times out with WS_ERR_PROXY_TIMEOUT', async () => {
    behaviour = () => undefined;
    const started = performance.now();
    const error = await attempt('ws://127.0.0.1:9/', { proxy: `http://127.0.0.1:${port}`, handshakeTimeout: 300 });
    expect(error).toMatchObject({ code: ErrorCode.ProxyTimeout });
    expect(performance.now() - started).toBeLessThan(2000);
  });

  it('a proxy that hangs up, or answers garbage, or speaks before the request', async () => {
    behaviour = (socket) => socket.destroy();
    expect(await attempt('ws://127.0.0.1:9/', { proxy: `http://127.0.0.1:${port}` })).toMatchObject({ code: ErrorCode.ProxyConnectionFailed });
    behaviour = (socket) => socket.write('SSH-2.0-OpenSSH\r\n\r\n');
    expect(await attempt('ws://127.0.0.1:9/', { proxy: `http://127.0.0.1:${port}` })).toMatchObject({ code: ErrorCode.ProxyConnectionFailed });
    behaviour = (socket) => socket.write('HTTP/1.1 200 OK\r\n\r\nEXTRA');
    expect(await attempt('ws://127.0.0.1:9/', { proxy: `http://127.0.0.1:${port}` })).toMatchObject({
      code: ErrorCode.ProxyConnectionFailed,
      message: expect.stringContaining('before the request'),
    });
  });

  it('no proxy listening: WS_ERR_PROXY_CONNECTION_FAILED; bad option values throw at once', async () => {
    const dead = await freePort();
    expect(await attempt('ws://127.0.0.1:9/', { proxy: `http://127.0.0.1:${dead}` })).toMatchObject({
      code: ErrorCode.ProxyConnectionFailed,
      message: expect.stringContaining('ECONNREFUSED'),
    });
    expect(() => new WebSocket('ws://127.0.0.1:9/', { proxy: 'socks5://127.0.0.1:1080' })).toThrow(/http: or https:/);
    expect(() => new WebSocket('ws://127.0.0.1:9/', { proxy: 42 as never })).toThrow(/proxy/);
    expect(() => new WebSocket('ws://127.0.0.1:9/', { proxyTls: { bogus: 1 } as never })).toThrow(/unknown option "bogus"/);
  });
});
