// Bytes a real GoBGP 3.10 sent to us (recorded by bgp.capture.test.ts): our codec must read them as GoBGP meant.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decodeMessage, encodeMessage, endOfRibFamily, negotiate, BgpSession, type OpenMessage, type UpdateMessage } from '../../src/speaker/bgp/index.js';

const capture = JSON.parse(readFileSync(new URL('./bgp.gobgp-capture.json', import.meta.url), 'utf8')) as { frames: string[] };
const frames = capture.frames.map((h) => Uint8Array.from(Buffer.from(h, 'hex')));
const ctx = { fourOctetAs: true, ibgp: false };
const decode = (b: Uint8Array) => {
  const r = decodeMessage(b, ctx);
  if (!r.ok) throw new Error(r.reason);
  expect(r.problems).toBeUndefined();
  return r.message;
};

describe('GoBGP capture', () => {
  it('OPEN: AS 64513, hold 90, id 10.0.0.2, MP v4+v6, route refresh, 4-octet AS, GR; unknown capabilities kept', () => {
    const open = decode(frames[0]!) as OpenMessage;
    expect(open).toMatchObject({ version: 4, myAs: 64513, holdTime: 90, bgpId: '10.0.0.2' });
    const kinds = open.capabilities.map((c) => (c.kind === 'unknown' ? `unknown:${c.code}` : c.kind));
    expect(kinds).toEqual(expect.arrayContaining(['routeRefresh', 'multiprotocol', 'fourOctetAs', 'gracefulRestart']));
    expect(open.capabilities).toContainEqual({ kind: 'fourOctetAs', asn: 64513 });
    expect(open.capabilities.find((c) => c.kind === 'gracefulRestart')).toMatchObject({ restartTime: 120, families: [{ afi: 1, safi: 1 }, { afi: 2, safi: 1 }] });
    // Re-encoding gives GoBGP's bytes back (every capability, known or not, kept in order).
    expect(Buffer.from(encodeMessage(open)).toString('hex')).toBe(capture.frames[0]);
    const s = new BgpSession({ localAs: 64512, peerAs: 64513, routerId: '10.0.0.1', holdTime: 30, connectRetryTime: 120, passive: true, families: [{ afi: 1, safi: 1 }, { afi: 2, safi: 1 }] });
    const n = negotiate({ holdTime: 30, capabilities: s.localOpen().capabilities }, open);
    expect(n).toMatchObject({ holdTime: 30, keepaliveTime: 10, fourOctetAs: true, routeRefresh: true, peerAs: 64513 });
    expect(n.families).toEqual([{ afi: 1, safi: 1 }, { afi: 2, safi: 1 }]);
  });

  it('IPv4 UPDATE: ORIGIN, AS_PATH [64513], NEXT_HOP, MED, COMMUNITIES, LARGE_COMMUNITY, 203.0.113.10/32', () => {
    const u = decode(frames[2]!) as UpdateMessage;
    expect(u.nlri).toEqual(['203.0.113.10/32']);
    expect(u.attributes).toEqual({
      origin: 0,
      asPath: [{ type: 2, asns: [64513] }],
      nextHop: '127.0.0.1',
      med: 10,
      communities: [65000 * 65536 + 100],
      largeCommunities: [{ global: 64513, local1: 1, local2: 2 }],
    });
    expect(Buffer.from(encodeMessage(u)).toString('hex')).toBe(capture.frames[2]);
  });

  it('IPv6 UPDATE in MP_REACH_NLRI, and End-of-RIB for both families', () => {
    const u = decode(frames[4]!) as UpdateMessage;
    expect(u.attributes.mpReach).toEqual({ afi: 2, safi: 1, nextHops: ['2001:db8::2'], nlri: ['2001:db8:5::/64'] });
    expect(Buffer.from(encodeMessage(u)).toString('hex')).toBe(capture.frames[4]);
    expect(endOfRibFamily(decode(frames[3]!) as UpdateMessage)).toEqual({ afi: 1, safi: 1 });
    expect(endOfRibFamily(decode(frames[5]!) as UpdateMessage)).toEqual({ afi: 2, safi: 1 });
  });
});
