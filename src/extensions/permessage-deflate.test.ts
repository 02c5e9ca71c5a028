import { describe, expect, it } from 'vitest';
import { formatExtensions, parseExtensions } from '../handshake/headers.js';
import { PerMessageDeflateClient, PerMessageDeflateServer, resolveDeflateOptions } from './permessage-deflate.js';

const offers = (header: string) => parseExtensions(header)!;
const answer = (header: string) => parseExtensions(header)![0]!;

describe('permessage-deflate server negotiation (RFC 7692 §7.1)', () => {
  it("accepts Chrome's default offer with full context takeover", () => {
    const result = new PerMessageDeflateServer().accept(offers('permessage-deflate; client_max_window_bits'));
    expect(formatExtensions([result!.response])).toBe('permessage-deflate');
    expect(result!.extension).toMatchObject({ rsv: 0x40, compressWindowBits: 15, decompressWindowBits: 15, compressNoContextTakeover: false, decompressNoContextTakeover: false });
  });
  it.each([
    ['permessage-deflate; server_no_context_takeover', {}, 'permessage-deflate; server_no_context_takeover', { compressNoContextTakeover: true }],
    ['permessage-deflate; client_no_context_takeover', {}, 'permessage-deflate; client_no_context_takeover', { decompressNoContextTakeover: true }],
    ['permessage-deflate; server_max_window_bits=10', {}, 'permessage-deflate; server_max_window_bits=10', { compressWindowBits: 10 }],
    ['permessage-deflate; client_max_window_bits=12', {}, 'permessage-deflate; client_max_window_bits=12', { decompressWindowBits: 12 }],
    ['permessage-deflate; client_max_window_bits', { clientMaxWindowBits: 9 }, 'permessage-deflate; client_max_window_bits=9', { decompressWindowBits: 9 }],
    ['permessage-deflate', { serverMaxWindowBits: 11, serverNoContextTakeover: true }, 'permessage-deflate; server_max_window_bits=11; server_no_context_takeover', { compressWindowBits: 11, compressNoContextTakeover: true }],
    ['permessage-deflate; server_max_window_bits=12', { serverMaxWindowBits: 9 }, 'permessage-deflate; server_max_window_bits=9', { compressWindowBits: 9 }],
  ] as const)('offer %j with %j → %j', (offer, options, response, parameters) => {
    const result = new PerMessageDeflateServer(options).accept(offers(offer));
    expect(formatExtensions([result!.response])).toBe(response);
    expect(result!.extension).toMatchObject(parameters);
  });
  it.each([
    'permessage-deflate; server_max_window_bits=7',
    'permessage-deflate; server_max_window_bits=16',
    'permessage-deflate; server_max_window_bits=010',
    'permessage-deflate; server_max_window_bits',
    'permessage-deflate; client_max_window_bits=abc',
    'permessage-deflate; server_no_context_takeover=1',
    'permessage-deflate; unknown_param',
    'permessage-deflate; server_no_context_takeover; server_no_context_takeover',
    'permessage-deflate; client_max_window_bits=10; client_max_window_bits=11',
  ])('declines the invalid offer %j', (offer) => {
    expect(new PerMessageDeflateServer().accept(offers(offer))).toBeNull();
  });
  it('picks the first acceptable of several offers', () => {
    const result = new PerMessageDeflateServer().accept(offers('permessage-deflate; server_max_window_bits=20, permessage-deflate; server_max_window_bits=10, permessage-deflate'));
    expect(formatExtensions([result!.response])).toBe('permessage-deflate; server_max_window_bits=10');
  });
  it('declines an offer that cannot honour the client window it must limit', () => {
    expect(new PerMessageDeflateServer({ clientMaxWindowBits: 10 }).accept(offers('permessage-deflate'))).toBeNull();
  });
});

describe('permessage-deflate client negotiation (RFC 7692 §7.1)', () => {
  it('offers client_max_window_bits without a value by default', () => {
    expect(formatExtensions(new PerMessageDeflateClient().offer())).toBe('permessage-deflate; client_max_window_bits');
    expect(formatExtensions(new PerMessageDeflateClient({ serverNoContextTakeover: true, serverMaxWindowBits: 10, clientMaxWindowBits: 12 }).offer())).toBe(
      'permessage-deflate; server_no_context_takeover; server_max_window_bits=10; client_max_window_bits=12',
    );
  });
  it('accepts valid answers and derives its parameters', () => {
    expect(new PerMessageDeflateClient().confirm(answer('permessage-deflate; server_max_window_bits=10; client_max_window_bits=9; client_no_context_takeover'))).toMatchObject({
      compressWindowBits: 9,
      decompressWindowBits: 10,
      compressNoContextTakeover: true,
      decompressNoContextTakeover: false,
    });
  });
  it.each([
    ['an unknown parameter', {}, 'permessage-deflate; foo'],
    ['a duplicate parameter', {}, 'permessage-deflate; server_no_context_takeover; server_no_context_takeover'],
    ['client_max_window_bits without a value', {}, 'permessage-deflate; client_max_window_bits'],
    ['an invalid window', {}, 'permessage-deflate; server_max_window_bits=16'],
    ['a larger server window than asked for', { serverMaxWindowBits: 10 }, 'permessage-deflate; server_max_window_bits=12'],
    ['a missing server_no_context_takeover that was asked for', { serverNoContextTakeover: true }, 'permessage-deflate'],
    ['a larger client window than offered', { clientMaxWindowBits: 10 }, 'permessage-deflate; client_max_window_bits=12'],
  ] as const)('fails on %s', (_name, options, response) => {
    expect(new PerMessageDeflateClient(options).confirm(answer(response))).toBeInstanceOf(Error);
  });
  it('validates options before anything else happens', () => {
    expect(() => resolveDeflateOptions({ serverMaxWindowBits: 7 })).toThrow(/WS_ERR_INVALID_ARGUMENT|must be/);
    expect(() => resolveDeflateOptions({ clientMaxWindowBits: 16 })).toThrow(/WS_ERR_INVALID_ARGUMENT|must be/);
    expect(() => resolveDeflateOptions({ serverNoContextTakeover: 'yes' as never })).toThrow(/WS_ERR_INVALID_ARGUMENT|must be/);
  });
});
