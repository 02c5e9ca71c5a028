import { describe, expect, it } from 'vitest';
import { Admission, admissionRecord, type OpenTicket, ticketOf, userOf } from './admission.js';
import { clientAddress } from './client-address.js';

const limits = { maxConnections: 5, maxConnectionsPerIp: 2, maxConnectionsPerUser: 1, maxPendingHandshakes: 3, maxPendingHandshakesPerIp: 2 };

describe('Admission', () => {
  it('an open connection keeps the address alone when no user is counted, and its record gives the slots back', () => {
    const a = new Admission(limits);
    const anonymous = a.admit('1.1.1.1', undefined) as OpenTicket;
    const named = a.admit('1.1.1.1', 'alice') as OpenTicket;
    const records = [admissionRecord(anonymous), admissionRecord(named)];
    expect(records[0]).toBe('1.1.1.1');
    expect(records[1]).toBe(named);
    expect(records.map(userOf)).toEqual([undefined, 'alice']);
    expect(a.admit('1.1.1.1', undefined)).toMatchObject({ ok: false, limit: 'maxConnectionsPerIp' });
    for (const record of records) a.release(ticketOf(record));
    expect(a.admit('1.1.1.1', 'alice')).toMatchObject({ ok: true });
    expect(a.admit('1.1.1.1', undefined)).toMatchObject({ ok: true });
  });

  it('counts pending handshakes per address and in total', () => {
    const a = new Admission(limits);
    expect(a.beginHandshake('1.1.1.1')).toBe(true);
    expect(a.beginHandshake('1.1.1.1')).toBe(true);
    expect(a.beginHandshake('1.1.1.1')).toMatchObject({ ok: false, status: 429, retryAfter: 5, limit: 'maxPendingHandshakesPerIp' });
    expect(a.beginHandshake('2.2.2.2')).toBe(true);
    expect(a.beginHandshake('3.3.3.3')).toMatchObject({ ok: false, status: 503, retryAfter: undefined, limit: 'maxPendingHandshakes' });
    a.endHandshake('1.1.1.1');
    expect(a.beginHandshake('3.3.3.3')).toBe(true);
    expect(a.pending).toBe(3);
  });
  it('limits open connections per address, per user and in total, and frees on release', () => {
    const a = new Admission(limits);
    const t1 = a.admit('1.1.1.1', 'alice');
    expect(t1).toMatchObject({ ok: true });
    expect(a.admit('1.1.1.1', 'alice')).toMatchObject({ ok: false, status: 429, limit: 'maxConnectionsPerUser' });
    expect(a.admit('1.1.1.1', undefined)).toMatchObject({ ok: true });
    expect(a.admit('1.1.1.1', undefined)).toMatchObject({ ok: false, status: 429, limit: 'maxConnectionsPerIp' });
    for (const ip of ['2.2.2.2', '3.3.3.3', '4.4.4.4']) expect(a.admit(ip, undefined)).toMatchObject({ ok: true });
    expect(a.admit('5.5.5.5', undefined)).toMatchObject({ ok: false, status: 503, limit: 'maxConnections' });
    if (t1.ok) a.release(t1);
    expect(a.admit('1.1.1.1', 'alice')).toMatchObject({ ok: true });
    expect(a.open).toBe(5);
  });
  it('holds nothing for addresses with no connection', () => {
    const a = new Admission(limits);
    for (let i = 0; i < 100; i++) {
      const t = a.admit(`10.0.0.${i}`, `u${i}`);
      if (t.ok) a.release(t);
      a.beginHandshake(`10.0.0.${i}`);
      a.endHandshake(`10.0.0.${i}`);
    }
    expect((a as unknown as { openByAddress: Map<string, number> }).openByAddress.size).toBe(0);
    expect((a as unknown as { pendingByAddress: Map<string, number> }).pendingByAddress.size).toBe(0);
  });
});

describe('clientAddress', () => {
  it('ignores forwarding headers unless trustProxy says otherwise', () => {
    expect(clientAddress('10.0.0.1', '6.6.6.6', undefined, false)).toBe('10.0.0.1');
  });
  it('takes the address the trusted proxies appended, not what the client prepended', () => {
    // The client sent "X-Forwarded-For: 6.6.6.6"; the proxy appended the real client 1.2.3.4.
    expect(clientAddress('10.0.0.1', '6.6.6.6, 1.2.3.4', undefined, true)).toBe('1.2.3.4');
    expect(clientAddress('10.0.0.2', '6.6.6.6, 1.2.3.4, 10.0.0.1', undefined, 2)).toBe('1.2.3.4');
    expect(clientAddress('10.0.0.2', '6.6.6.6, 1.2.3.4, 10.0.0.1', undefined, (a) => a.startsWith('10.'))).toBe('1.2.3.4');
    expect(clientAddress('10.0.0.1', undefined, undefined, true)).toBe('10.0.0.1');
  });
  it('reads RFC 7239 Forwarded for= nodes', () => {
    expect(clientAddress('10.0.0.1', undefined, 'for=6.6.6.6, for="[2001:db8::1]:4711";proto=https', true)).toBe('2001:db8::1');
    expect(clientAddress('10.0.0.1', undefined, 'proto=https;for=192.0.2.60:8080', true)).toBe('192.0.2.60');
  });
});
