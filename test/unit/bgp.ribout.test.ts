import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  buildUpdates,
  decodeMessage,
  DEFAULT_LOCAL_PREF,
  endOfRibFamily,
  initialUpdates,
  MAX_MESSAGE_LENGTH,
  type AdvertisedRoute,
  type DesiredRib,
  type RibOutSession,
  type UpdateMessage,
} from '../../src/speaker/bgp/index.js';
import type { Community } from '../../src/config/model.js';

const SESSION: RibOutSession = {
  localAs: 64512,
  families: [
    { afi: 1, safi: 1 },
    { afi: 2, safi: 1 },
  ],
  fourOctetAs: true,
  nextHopV4: '192.0.2.11',
  nextHopV6: '2001:db8::11',
  nextHopV6LinkLocal: 'fe80::11',
};
const std = (a: number, b: number): Community => ({ kind: 'standard', value: a * 65536 + b });
const route = (over: Partial<AdvertisedRoute> = {}): AdvertisedRoute => ({ communities: [], ...over });

function decodeAll(messages: readonly Uint8Array[], ibgp: boolean): UpdateMessage[] {
  return messages.map((b) => {
    expect(b.length).toBeLessThanOrEqual(MAX_MESSAGE_LENGTH);
    const r = decodeMessage(b, { fourOctetAs: true, ibgp });
    if (!r.ok || r.message.type !== 'update') throw new Error('ribOut produced a bad UPDATE');
    expect(r.problems).toBeUndefined();
    return r.message;
  });
}

/** A peer's Adj-RIB-In: prefix -> attributes as received, applying UPDATEs in order. */
function apply(rib: Map<string, UpdateMessage['attributes']>, updates: UpdateMessage[]): void {
  for (const u of updates) {
    for (const p of [...u.withdrawn, ...(u.attributes.mpUnreach?.withdrawn ?? [])]) rib.delete(p);
    const { mpReach, mpUnreach, ...attrs } = u.attributes;
    void mpUnreach;
    for (const p of u.nlri) rib.set(p, attrs);
    for (const p of mpReach?.nlri ?? []) rib.set(p, { ...attrs, nextHop: mpReach!.nextHops.join(' ') });
  }
}

describe('buildUpdates (MetalLB 4.9/4.10 attributes)', () => {
  it('eBGP IPv4: ORIGIN IGP, AS_PATH [myAS], NEXT_HOP ours, no LOCAL_PREF; equal prefixes share one UPDATE', () => {
    const next: DesiredRib = new Map([
      ['203.0.113.10/32', route({ localPref: 200 })],
      ['203.0.113.11/32', route({ localPref: 200 })],
      ['203.0.113.12/32', route({ localPref: 200 })],
    ]);
    const [u, ...rest] = decodeAll(buildUpdates(new Map(), next, SESSION, false).messages, false);
    expect(rest).toEqual([]);
    expect(u?.nlri).toEqual(['203.0.113.10/32', '203.0.113.11/32', '203.0.113.12/32']);
    expect(u?.attributes).toEqual({ origin: 0, asPath: [{ type: 2, asns: [64512] }], nextHop: '192.0.2.11' });
  });

  it('iBGP: empty AS_PATH and LOCAL_PREF (configured, else 100)', () => {
    const next: DesiredRib = new Map([
      ['203.0.113.10/32', route({ localPref: 250 })],
      ['203.0.113.20/32', route()],
    ]);
    const us = decodeAll(buildUpdates(new Map(), next, SESSION, true).messages, true);
    expect(us.map((u) => [u.nlri, u.attributes.localPref, u.attributes.asPath])).toEqual([
      [['203.0.113.10/32'], 250, []],
      [['203.0.113.20/32'], DEFAULT_LOCAL_PREF, []],
    ]);
  });

  it('communities sorted and de-duplicated, large communities in LARGE_COMMUNITY; different sets split messages', () => {
    const large: Community = { kind: 'large', global: 64512, local1: 1, local2: 2 };
    const next: DesiredRib = new Map([
      ['10.0.0.1/32', route({ communities: [std(65000, 2), std(65000, 1), std(65000, 2), large] })],
      ['10.0.0.2/32', route({ communities: [std(65000, 1)] })],
    ]);
    const us = decodeAll(buildUpdates(new Map(), next, SESSION, false).messages, false);
    expect(us).toHaveLength(2);
    expect(us[0]?.attributes.communities).toEqual([65000 * 65536 + 1, 65000 * 65536 + 2]);
    expect(us[0]?.attributes.largeCommunities).toEqual([{ global: 64512, local1: 1, local2: 2 }]);
    expect(us[1]?.attributes.largeCommunities).toBeUndefined();
  });

  it('IPv6 goes in MP_REACH_NLRI with global + link-local next hops, withdrawals in MP_UNREACH_NLRI (RFC 4760, RFC 2545)', () => {
    const prev: DesiredRib = new Map([['2001:db8:5::1/128', route()]]);
    const next: DesiredRib = new Map([['2001:db8:5::2/128', route()]]);
    const us = decodeAll(buildUpdates(prev, next, SESSION, false).messages, false);
    expect(us[0]?.attributes).toEqual({ mpUnreach: { afi: 2, safi: 1, withdrawn: ['2001:db8:5::1/128'] } });
    expect(us[1]?.attributes.mpReach).toEqual({ afi: 2, safi: 1, nextHops: ['2001:db8::11', 'fe80::11'], nlri: ['2001:db8:5::2/128'] });
    expect(us[1]?.attributes.nextHop).toBeUndefined();
  });

  it('only differences are sent: unchanged prefixes nothing, changed attributes re-announced, removed withdrawn', () => {
    const prev: DesiredRib = new Map([
      ['10.0.0.1/32', route()],
      ['10.0.0.2/32', route()],
      ['10.0.0.3/32', route()],
    ]);
    const next: DesiredRib = new Map([
      ['10.0.0.1/32', route()],
      ['10.0.0.2/32', route({ communities: [std(1, 1)] })],
    ]);
    const us = decodeAll(buildUpdates(prev, next, SESSION, false).messages, false);
    expect(us.map((u) => [u.withdrawn, u.nlri])).toEqual([
      [['10.0.0.3/32'], []],
      [[], ['10.0.0.2/32']],
    ]);
    expect(buildUpdates(next, next, SESSION, false).messages).toEqual([]);
  });

  it('families not negotiated, or without a next hop, are reported unsent', () => {
    const v4only: RibOutSession = { ...SESSION, families: [{ afi: 1, safi: 1 }] };
    const next: DesiredRib = new Map([['2001:db8::1/128', route()], ['10.0.0.1/32', route()]]);
    expect(buildUpdates(new Map(), next, v4only, false).unsent).toEqual(['2001:db8::1/128']);
    const { nextHopV4: _drop, ...noV4 } = SESSION;
    void _drop;
    expect(buildUpdates(new Map(), next, noV4, false).unsent).toEqual(['10.0.0.1/32']);
  });

  it('packs thousands of prefixes into as few 4096-byte UPDATEs as fit', () => {
    const next = new Map<string, AdvertisedRoute>();
    for (let i = 0; i < 3000; i++) next.set(`10.${(i >> 8) & 255}.${i & 255}.0/24`, route());
    for (let i = 1; i <= 1000; i++) next.set(`2001:db8:${i.toString(16)}::/64`, route());
    const built = buildUpdates(new Map(), next, SESSION, false);
    const us = decodeAll(built.messages, false);
    const v4 = us.flatMap((u) => u.nlri);
    const v6 = us.flatMap((u) => u.attributes.mpReach?.nlri ?? []);
    expect(new Set(v4).size).toBe(3000);
    expect(v4.length).toBe(3000);
    expect(v6.length).toBe(1000);
    // /24 = 4 bytes each; ~4040 bytes of room per message => 3000*4/4040 rounds up to 3.
    expect(us.filter((u) => u.nlri.length).length).toBe(Math.ceil((3000 * 4) / (MAX_MESSAGE_LENGTH - 60)));
    // Every message but the last of its family is full: one more prefix (+1 reserved length octet) would not fit.
    const v4msgs = built.messages.filter((_, i) => us[i]!.nlri.length > 0);
    const v6msgs = built.messages.filter((_, i) => us[i]!.attributes.mpReach);
    expect(v4msgs.slice(0, -1).every((m) => m.length + 4 + 1 > MAX_MESSAGE_LENGTH)).toBe(true);
    expect(v6msgs.slice(0, -1).every((m) => m.length + 9 + 1 > MAX_MESSAGE_LENGTH)).toBe(true);
    expect(v6msgs.length).toBe(Math.ceil((1000 * 9) / (MAX_MESSAGE_LENGTH - 100)));
    // Withdrawing all of it packs too.
    const gone = decodeAll(buildUpdates(next, new Map(), SESSION, false).messages, false);
    expect(gone.flatMap((u) => u.withdrawn).length).toBe(3000);
    expect(gone.length).toBeLessThanOrEqual(6);
  });

  it('initialUpdates ends with End-of-RIB for every negotiated family (RFC 4724 §2)', () => {
    const built = initialUpdates(new Map([['10.0.0.1/32', route()]]), SESSION, false);
    const us = decodeAll(built.messages, false);
    expect(us.slice(-2).map(endOfRibFamily)).toEqual([
      { afi: 1, safi: 1 },
      { afi: 2, safi: 1 },
    ]);
  });

  it('property: a peer applying the UPDATEs in order ends with exactly `next`, with the right attributes', () => {
    const prefix = fc.oneof(
      fc.tuple(fc.nat({ max: 255 }), fc.constantFrom(24, 32)).map(([i, l]) => `198.51.${i}.${l === 32 ? 7 : 0}/${l}`),
      fc.integer({ min: 1, max: 300 }).map((i) => `2001:db8:${i.toString(16)}::/64`),
    );
    const routeArb = fc.record({
      localPref: fc.option(fc.nat({ max: 1000 }), { nil: undefined }),
      communities: fc.array(fc.nat({ max: 5 }).map((v) => std(65000, v)), { maxLength: 3 }),
    }).map((r) => (r.localPref === undefined ? { communities: r.communities } : r));
    const ribArb = fc.array(fc.tuple(prefix, routeArb), { maxLength: 80 }).map((e) => new Map(e) as DesiredRib);
    fc.assert(
      fc.property(ribArb, ribArb, fc.boolean(), (prev, next, ibgp) => {
        const peer = new Map<string, UpdateMessage['attributes']>();
        apply(peer, decodeAll(buildUpdates(new Map(), prev, SESSION, ibgp).messages, ibgp));
        apply(peer, decodeAll(buildUpdates(prev, next, SESSION, ibgp).messages, ibgp));
        expect([...peer.keys()].sort()).toEqual([...next.keys()].sort());
        for (const [p, r] of next) {
          const a = peer.get(p)!;
          expect(a.localPref).toBe(ibgp ? (r.localPref ?? DEFAULT_LOCAL_PREF) : undefined);
          const want = [...new Set(r.communities.map((c) => (c.kind === 'standard' ? c.value : -1)))].sort((x, y) => x - y);
          expect(a.communities ?? []).toEqual(want);
          expect(a.nextHop).toBe(p.includes(':') ? '2001:db8::11 fe80::11' : '192.0.2.11');
        }
      }),
      { numRuns: 200 },
    );
  });
});
