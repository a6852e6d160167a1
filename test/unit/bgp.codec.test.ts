import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  AS_TRANS,
  decodeMessage,
  effectiveAsPath,
  encodeMessage,
  endOfRib,
  endOfRibFamily,
  MessageFramer,
  type BgpMessage,
  type Capability,
  type PathAttributes,
  type UpdateMessage,
} from '../../src/speaker/bgp/index.js';
import { ipFromBytes } from '../../src/net/address.js';

const hex = (s: string) => Uint8Array.from(s.replace(/\s+/g, '').match(/../g)!.map((b) => parseInt(b, 16)));
const MARKER = 'ff'.repeat(16);
const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const CTX4 = { fourOctetAs: true, ibgp: false };
const IBGP4 = { fourOctetAs: true, ibgp: true };

function decodeOk(bytes: Uint8Array, ctx = CTX4) {
  const r = decodeMessage(bytes, ctx);
  if (!r.ok) throw new Error(`expected a message, got ${r.reason}`);
  return r;
}
function decodeErr(bytes: Uint8Array, ctx = CTX4) {
  const r = decodeMessage(bytes, ctx);
  if (r.ok) throw new Error(`expected a NOTIFICATION, got ${r.message.type}`);
  return r.notification;
}
/** Whole message from a body: header with the right length. */
function msg(type: number, body: string): Uint8Array {
  const b = hex(body || '00').subarray(0, body ? undefined : 0);
  const len = 19 + b.length;
  return hex(MARKER + len.toString(16).padStart(4, '0') + type.toString(16).padStart(2, '0') + toHex(b));
}

describe('golden vectors written from the RFC layouts', () => {
  it('KEEPALIVE is a bare 19-byte header (RFC 4271 §4.4)', () => {
    expect(toHex(encodeMessage({ type: 'keepalive' }))).toBe(`${MARKER}001304`);
    expect(decodeOk(hex(`${MARKER}001304`)).message).toEqual({ type: 'keepalive' });
  });

  it('OPEN with MP IPv4, route refresh and 4-octet AS (RFC 4271 §4.2, RFC 5492, RFC 6793 §3)', () => {
    const golden = `${MARKER}002d01 04 fde9 005a c0000201 10 02 0e 01040001 0001 0200 4104 0000fde9`.replace(/ /g, '');
    const open: BgpMessage = {
      type: 'open',
      version: 4,
      myAs: 65001,
      holdTime: 90,
      bgpId: '192.0.2.1',
      capabilities: [{ kind: 'multiprotocol', afi: 1, safi: 1 }, { kind: 'routeRefresh' }, { kind: 'fourOctetAs', asn: 65001 }],
    };
    expect(toHex(encodeMessage(open))).toBe(golden);
    expect(decodeOk(hex(golden)).message).toEqual(open);
  });

  it('graceful restart capability: R bit, restart time, per-AFI F bit (RFC 4724 §3)', () => {
    const golden = `${MARKER}002701 04 fde9 005a c0000201 0a 02 08 4006 8078 00010180`.replace(/ /g, '');
    const m = decodeOk(hex(golden)).message;
    expect(m.type === 'open' && m.capabilities).toEqual([
      { kind: 'gracefulRestart', restarting: true, notification: false, restartTime: 120, families: [{ afi: 1, safi: 1, forwardingPreserved: true }] },
    ]);
    expect(toHex(encodeMessage(m))).toBe(golden);
  });

  it('UPDATE with ORIGIN, AS_PATH (4-octet), NEXT_HOP, COMMUNITIES and one /32 (RFC 4271 §4.3, RFC 1997)', () => {
    const golden =
      `${MARKER}0037 02 0000 001b` +
      '40010100' + '4002060201 0000fde9'.replace(/ /g, '') + '400304c0000201' + 'c00804fde90064' + '20cb00710a';
    const u: UpdateMessage = {
      type: 'update',
      withdrawn: [],
      attributes: { origin: 0, asPath: [{ type: 2, asns: [65001] }], nextHop: '192.0.2.1', communities: [65001 * 65536 + 100] },
      nlri: ['203.0.113.10/32'],
    };
    expect(toHex(encodeMessage(u, CTX4))).toBe(golden.replace(/ /g, ''));
    expect(decodeOk(hex(golden)).message).toEqual(u);
  });

  it('MP_REACH_NLRI for IPv6 with a global next hop (RFC 4760 §3, RFC 2545)', () => {
    const golden = (`${MARKER}003d 02 0000 0026 40010100 400200` + '800e1c 0002 01 10 20010db8000000000000000000000001 00 30 20010db80001'.replace(/ /g, '')).replace(/ /g, '');
    const m = decodeOk(hex(golden)).message as UpdateMessage;
    expect(m.attributes.mpReach).toEqual({ afi: 2, safi: 1, nextHops: ['2001:db8::1'], nlri: ['2001:db8:1::/48'] });
    expect(toHex(encodeMessage(m))).toBe(golden.replace(/ /g, ''));
  });

  it('LARGE_COMMUNITY is three 4-octet fields (RFC 8092 §3)', () => {
    const golden = `${MARKER}0026 02 0000 000f c0200c 0000fde9 00000001 00000002`.replace(/ /g, '');
    const m = decodeOk(hex(golden)).message as UpdateMessage;
    expect(m.attributes.largeCommunities).toEqual([{ global: 65001, local1: 1, local2: 2 }]);
    expect(toHex(encodeMessage(m))).toBe(golden);
  });

  it('NOTIFICATION Hold Timer Expired and ROUTE-REFRESH (RFC 4271 §4.5, RFC 2918 §3)', () => {
    expect(toHex(encodeMessage({ type: 'notification', code: 4, subcode: 0, data: new Uint8Array(0) }))).toBe(`${MARKER}0015030400`);
    expect(toHex(encodeMessage({ type: 'routeRefresh', afi: 2, safi: 1 }))).toBe(`${MARKER}00170500020001`);
    expect(decodeOk(hex(`${MARKER}00170500020001`)).message).toEqual({ type: 'routeRefresh', afi: 2, safi: 1 });
  });

  it('End-of-RIB: empty UPDATE for IPv4, empty MP_UNREACH for IPv6 (RFC 4724 §2)', () => {
    expect(toHex(encodeMessage(endOfRib(1, 1)))).toBe(`${MARKER}0017020000 0000`.replace(/ /g, ''));
    expect(toHex(encodeMessage(endOfRib(2, 1)))).toBe(`${MARKER}001d020000 0006 800f03 000201`.replace(/ /g, ''));
    for (const [afi, safi] of [[1, 1], [2, 1]] as const) {
      expect(endOfRibFamily(decodeOk(encodeMessage(endOfRib(afi, safi))).message as UpdateMessage)).toEqual({ afi, safi });
    }
  });
});

describe('RFC 4271 §6.1 header errors', () => {
  it('marker not all ones => Connection Not Synchronized', () => {
    const b = encodeMessage({ type: 'keepalive' });
    b[3] = 0;
    expect(decodeErr(b)).toMatchObject({ code: 1, subcode: 1 });
  });
  it('length below 19 or above 4096 => Bad Message Length with the length as data', () => {
    expect(toHex(decodeErr(hex(`${MARKER}001204`)).data)).toBe('0012');
    const big = new Uint8Array(4097).fill(0xff);
    big[16] = 0x10; big[17] = 0x01; big[18] = 2;
    expect(decodeErr(big)).toMatchObject({ code: 1, subcode: 2 });
  });
  it('KEEPALIVE longer than 19 => Bad Message Length; unknown type => Bad Message Type with the type', () => {
    expect(decodeErr(hex(`${MARKER}00140400`))).toMatchObject({ code: 1, subcode: 2 });
    const n = decodeErr(hex(`${MARKER}001309`));
    expect([n.code, n.subcode, toHex(n.data)]).toEqual([1, 3, '09']);
  });
  it('ROUTE-REFRESH of the wrong length => ROUTE-REFRESH Message Error (RFC 7313 §5)', () => {
    expect(decodeErr(msg(5, '0001000100'))).toMatchObject({ code: 7, subcode: 1 });
  });
});

describe('RFC 4271 §6.2 OPEN errors', () => {
  const open = (version: string, hold: string, id: string, params = '00') => msg(1, `${version}fde9${hold}${id}${params}`);
  it('version 3 => Unsupported Version Number, data = 4', () => {
    const n = decodeErr(open('03', '005a', 'c0000201'));
    expect([n.code, n.subcode, toHex(n.data)]).toEqual([2, 1, '0004']);
  });
  it('hold time 1 or 2 => Unacceptable Hold Time; 0 and 3 are fine', () => {
    expect(decodeErr(open('04', '0002', 'c0000201'))).toMatchObject({ code: 2, subcode: 6 });
    expect(decodeErr(open('04', '0001', 'c0000201'))).toMatchObject({ code: 2, subcode: 6 });
    expect(decodeOk(open('04', '0000', 'c0000201')).message).toMatchObject({ holdTime: 0 });
    expect(decodeOk(open('04', '0003', 'c0000201')).message).toMatchObject({ holdTime: 3 });
  });
  it('BGP identifier 0.0.0.0 => Bad BGP Identifier', () => {
    expect(decodeErr(open('04', '005a', '00000000'))).toMatchObject({ code: 2, subcode: 3 });
  });
  it('optional parameter other than Capabilities => Unsupported Optional Parameter', () => {
    expect(decodeErr(open('04', '005a', 'c0000201', '0401020000'))).toMatchObject({ code: 2, subcode: 4 });
  });
  it('malformed capability or parameter length => OPEN Message Error', () => {
    expect(decodeErr(open('04', '005a', 'c0000201', '04020201ff'))).toMatchObject({ code: 2 });
    expect(decodeErr(open('04', '005a', 'c0000201', '0302050000'.slice(0, 8)))).toMatchObject({ code: 2 });
  });
  it('unknown capabilities are kept and ignored (RFC 5492 §5)', () => {
    const m = decodeOk(open('04', '005a', 'c0000201', '0602044602abcd'.slice(0, 2) + '02' + '04' + '4602abcd')).message;
    expect(m.type === 'open' && m.capabilities).toEqual([{ kind: 'unknown', code: 0x46, value: hex('abcd') }]);
  });
  it('RFC 9072 extended optional parameters are used when capabilities exceed 255 bytes, and decoded back', () => {
    const caps: Capability[] = Array.from({ length: 40 }, (_, i) => ({ kind: 'unknown', code: 100 + i, value: new Uint8Array(8).fill(i) }));
    const o: BgpMessage = { type: 'open', version: 4, myAs: AS_TRANS, holdTime: 90, bgpId: '10.0.0.1', capabilities: caps };
    const b = encodeMessage(o);
    expect([b[28], b[29]]).toEqual([255, 255]);
    expect(decodeOk(b).message).toEqual(o);
  });
});

describe('RFC 4271 §6.3 / RFC 7606 UPDATE errors', () => {
  const A = { origin: '40010100', asPath: '40020602010000fde9', nextHop: '400304c0000201' };
  const update = (attrs: string, nlri = '18c63364', withdrawn = '') =>
    msg(2, (withdrawn.length / 2).toString(16).padStart(4, '0') + withdrawn + (attrs.length / 2).toString(16).padStart(4, '0') + attrs + nlri);

  it('a well-formed UPDATE decodes without problems', () => {
    const r = decodeOk(update(A.origin + A.asPath + A.nextHop));
    expect(r.treatedAsWithdraw).toBeUndefined();
    expect((r.message as UpdateMessage).nlri).toEqual(['198.51.100.0/24']);
  });
  it('Withdrawn Routes Length overrunning the message => Malformed Attribute List (session reset)', () => {
    expect(decodeErr(msg(2, '00ff0000'))).toMatchObject({ code: 3, subcode: 1 });
  });
  it('Total Path Attribute Length overrunning the message => Malformed Attribute List', () => {
    expect(decodeErr(msg(2, '000000ff40'))).toMatchObject({ code: 3, subcode: 1 });
  });
  it('NLRI prefix length 33 => Invalid Network Field (RFC 7606 §5.3 session reset)', () => {
    expect(decodeErr(update(A.origin + A.asPath + A.nextHop, '21c6336401ff'))).toMatchObject({ code: 3, subcode: 10 });
  });
  it('invalid ORIGIN value => treat-as-withdraw (RFC 7606 §7.1)', () => {
    const r = decodeOk(update('40010103' + A.asPath + A.nextHop));
    expect(r.treatedAsWithdraw).toBe(true);
    expect(r.message).toMatchObject({ nlri: [], withdrawn: ['198.51.100.0/24'] });
  });
  it('missing NEXT_HOP => treat-as-withdraw (RFC 7606 §3 d)', () => {
    expect(decodeOk(update(A.origin + A.asPath)).treatedAsWithdraw).toBe(true);
  });
  it('missing LOCAL_PREF on iBGP => treat-as-withdraw; LOCAL_PREF from eBGP => attribute discard (RFC 7606 §7.5)', () => {
    expect(decodeOk(update(A.origin + A.asPath + A.nextHop), IBGP4).treatedAsWithdraw).toBe(true);
    const r = decodeOk(update(A.origin + A.asPath + A.nextHop + '40050400000064'), CTX4);
    expect(r.treatedAsWithdraw).toBeUndefined();
    expect((r.message as UpdateMessage).attributes.localPref).toBeUndefined();
    expect(r.problems?.[0]).toMatchObject({ type: 5, action: 'attributeDiscard' });
  });
  it('ATOMIC_AGGREGATE of length 1 => attribute discard (RFC 7606 §7.6)', () => {
    const r = decodeOk(update(A.origin + A.asPath + A.nextHop + '40060100'));
    expect(r.problems?.[0]).toMatchObject({ type: 6, action: 'attributeDiscard' });
    expect((r.message as UpdateMessage).nlri).toEqual(['198.51.100.0/24']);
  });
  it('COMMUNITIES of length 3 => treat-as-withdraw (RFC 7606 §7.8)', () => {
    expect(decodeOk(update(A.origin + A.asPath + A.nextHop + 'c00803010203')).treatedAsWithdraw).toBe(true);
  });
  it('attribute flags in conflict with the type => malformed => treat-as-withdraw (RFC 7606 §3 c)', () => {
    expect(decodeOk(update('c0010100' + A.asPath + A.nextHop)).treatedAsWithdraw).toBe(true);
  });
  it('attribute length overrunning the attribute field => treat-as-withdraw (RFC 7606 §4)', () => {
    expect(decodeOk(update(A.origin + A.asPath + '400308c0000201')).treatedAsWithdraw).toBe(true);
  });
  it('MP_REACH_NLRI twice => Malformed Attribute List (RFC 7606 §3 g); other repeats keep the first', () => {
    const mp = '800e0d000101 04 c0000201 00 18c63364'.replace(/ /g, '');
    expect(decodeErr(update(A.origin + A.asPath + mp + mp, ''))).toMatchObject({ code: 3, subcode: 1 });
    const r = decodeOk(update(A.origin + '40010102' + A.asPath + A.nextHop));
    expect((r.message as UpdateMessage).attributes.origin).toBe(0);
  });
  it('malformed MP_REACH_NLRI (IPv6 next hop length 5) => session reset (RFC 7606 §7.11)', () => {
    expect(decodeErr(update(A.origin + A.asPath + '800e0a0002010500000000000000', ''))).toMatchObject({ code: 3, subcode: 9 });
  });
  it('unrecognised well-known attribute => Unrecognized Well-known Attribute (RFC 4271 §6.3)', () => {
    expect(decodeErr(update(A.origin + A.asPath + A.nextHop + '406301ff'))).toMatchObject({ code: 3, subcode: 2 });
  });
  it('unknown optional attributes are kept as received', () => {
    const r = decodeOk(update(A.origin + A.asPath + A.nextHop + 'e06302abcd'));
    expect((r.message as UpdateMessage).attributes.unknown).toEqual([{ flags: 0xe0, type: 0x63, value: hex('abcd') }]);
  });
});

describe('AS4_PATH on 2-octet sessions (RFC 6793 §4.2)', () => {
  it('4-octet ASes go out as AS_TRANS plus AS4_PATH, and merge back', () => {
    const attrs: PathAttributes = { origin: 0, asPath: [{ type: 2, asns: [4200000000, 65001] }], nextHop: '192.0.2.1' };
    const ctx2 = { fourOctetAs: false, ibgp: false };
    const b = encodeMessage({ type: 'update', withdrawn: [], attributes: attrs, nlri: ['10.0.0.0/8'] }, ctx2);
    const m = decodeOk(b, ctx2).message as UpdateMessage;
    expect(m.attributes.asPath).toEqual([{ type: 2, asns: [AS_TRANS, 65001] }]);
    expect(m.attributes.as4Path).toEqual([{ type: 2, asns: [4200000000, 65001] }]);
    expect(effectiveAsPath(m.attributes)).toEqual(attrs.asPath);
  });
  it('a shorter AS4_PATH keeps the leading 2-octet ASes that old speakers prepended', () => {
    expect(
      effectiveAsPath({ asPath: [{ type: 2, asns: [65010, AS_TRANS, 65001] }], as4Path: [{ type: 2, asns: [4200000000, 65001] }] }),
    ).toEqual([{ type: 2, asns: [65010] }, { type: 2, asns: [4200000000, 65001] }]);
  });
  it('AS4_PATH is ignored on 4-octet sessions', () => {
    const b = msg(2, '0000001d' + '40010100' + '40020602010000fde9' + '400304c0000201' + 'c0110602010000fde9' + '18c63364');
    expect((decodeOk(b).message as UpdateMessage).attributes.as4Path).toBeUndefined();
  });
});

// ---------------------------------------------------------------------------------------------- properties

const u32 = fc.nat({ max: 0xffffffff });
const u16 = fc.nat({ max: 0xffff });
const v4 = fc.uint8Array({ minLength: 4, maxLength: 4 }).map((b) => ipFromBytes(b));
const v6 = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => ipFromBytes(b));
function prefixArb(size: 4 | 16) {
  return fc.tuple(fc.uint8Array({ minLength: size, maxLength: size }), fc.integer({ min: 0, max: size * 8 })).map(([b, len]) => {
    const a = Uint8Array.from(b);
    for (let i = 0; i < a.length; i++) {
      const keep = Math.max(0, Math.min(8, len - i * 8));
      a[i]! &= (0xff << (8 - keep)) & 0xff;
    }
    return `${ipFromBytes(a)}/${len}`;
  });
}
const segment = fc.record({ type: fc.constantFrom(1 as const, 2 as const), asns: fc.array(u32, { minLength: 1, maxLength: 6 }) });
const knownTypes = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 14, 15, 17, 18, 32];
const unknownAttr = fc.record({
  flags: fc.constantFrom(0x80, 0xc0, 0xe0),
  type: fc.integer({ min: 33, max: 255 }),
  value: fc.uint8Array({ maxLength: 40 }),
});
const attributesArb: fc.Arbitrary<PathAttributes> = fc.record(
  {
    origin: fc.constantFrom(0, 1, 2),
    asPath: fc.array(segment, { maxLength: 3 }),
    nextHop: v4,
    med: u32,
    localPref: u32,
    atomicAggregate: fc.constant(true),
    aggregator: fc.record({ asn: u32, address: v4 }),
    communities: fc.array(u32, { minLength: 1, maxLength: 5 }),
    originatorId: v4,
    clusterList: fc.array(v4, { minLength: 1, maxLength: 3 }),
    mpReach: fc.record({ afi: fc.constant(2), safi: fc.constant(1), nextHops: fc.oneof(fc.tuple(v6), fc.tuple(v6, v6)), nlri: fc.array(prefixArb(16), { maxLength: 5 }) }),
    mpUnreach: fc.record({ afi: fc.constant(2), safi: fc.constant(1), withdrawn: fc.array(prefixArb(16), { maxLength: 5 }) }),
    largeCommunities: fc.array(fc.record({ global: u32, local1: u32, local2: u32 }), { minLength: 1, maxLength: 4 }),
    unknown: fc.uniqueArray(unknownAttr, { minLength: 1, maxLength: 3, selector: (u) => u.type }),
  },
  { requiredKeys: ['origin', 'asPath', 'nextHop', 'localPref'] },
);
const capabilityArb: fc.Arbitrary<Capability> = fc.oneof(
  fc.record({ kind: fc.constant('multiprotocol' as const), afi: u16, safi: fc.nat({ max: 255 }) }),
  fc.constant({ kind: 'routeRefresh' as const }),
  fc.record({ kind: fc.constant('fourOctetAs' as const), asn: u32 }),
  fc.record({
    kind: fc.constant('gracefulRestart' as const),
    restarting: fc.boolean(),
    notification: fc.boolean(),
    restartTime: fc.nat({ max: 4095 }),
    families: fc.array(fc.record({ afi: u16, safi: fc.nat({ max: 255 }), forwardingPreserved: fc.boolean() }), { maxLength: 4 }),
  }),
  fc.record({ kind: fc.constant('unknown' as const), code: fc.integer({ min: 3, max: 63 }), value: fc.uint8Array({ maxLength: 20 }) }),
);
const messageArb: fc.Arbitrary<BgpMessage> = fc.oneof(
  fc.constant({ type: 'keepalive' as const }),
  fc.record({
    type: fc.constant('open' as const),
    version: fc.constant(4),
    myAs: u16,
    holdTime: fc.oneof(fc.constant(0), fc.integer({ min: 3, max: 0xffff })),
    bgpId: v4.filter((a) => a !== '0.0.0.0'),
    capabilities: fc.array(capabilityArb, { maxLength: 12 }),
  }),
  fc.record({ type: fc.constant('notification' as const), code: fc.nat({ max: 255 }), subcode: fc.nat({ max: 255 }), data: fc.uint8Array({ maxLength: 64 }) }),
  fc.record({ type: fc.constant('routeRefresh' as const), afi: u16, safi: fc.nat({ max: 255 }) }),
  fc.record({
    type: fc.constant('update' as const),
    withdrawn: fc.array(prefixArb(4), { maxLength: 10 }),
    attributes: attributesArb,
    nlri: fc.array(prefixArb(4), { maxLength: 10 }),
  }),
);

describe('round trips (fast-check)', () => {
  it('decode(encode(m)) == m for every message type (4-octet iBGP session)', () => {
    fc.assert(
      fc.property(messageArb, (m) => {
        const bytes = encodeMessage(m, IBGP4);
        const r = decodeMessage(bytes, IBGP4);
        expect(r.ok && r.message).toEqual(m);
        expect(r.ok && r.problems).toBeFalsy();
      }),
      { numRuns: 400 },
    );
  });
  it('MessageFramer yields the same frames however the stream is chunked', () => {
    fc.assert(
      fc.property(fc.array(messageArb, { minLength: 1, maxLength: 5 }), fc.array(fc.integer({ min: 1, max: 60 }), { minLength: 1 }), (ms, cuts) => {
        const frames = ms.map((m) => encodeMessage(m, IBGP4));
        const stream = Buffer.concat(frames);
        const f = new MessageFramer();
        const got: Uint8Array[] = [];
        let at = 0;
        for (let i = 0; at < stream.length; i++) {
          const n = cuts[i % cuts.length]!;
          const r = f.push(stream.subarray(at, at + n));
          expect(r.error).toBeUndefined();
          got.push(...r.frames);
          at += n;
        }
        expect(got.map(toHex)).toEqual(frames.map(toHex));
      }),
      { numRuns: 100 },
    );
  });
});

describe('fuzz: decoding never throws', () => {
  const check = (b: Uint8Array, ctx: { fourOctetAs: boolean; ibgp: boolean }) => {
    const r = decodeMessage(b, ctx);
    if (r.ok) expect(() => encodeMessage(r.message, ctx)).not.toThrow();
    else expect(r.notification.code).toBeGreaterThanOrEqual(1);
  };
  it('random bytes, with and without a valid header', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.integer({ min: 1, max: 5 }), fc.boolean(), fc.boolean(), (body, type, four, ibgp) => {
        check(body, { fourOctetAs: four, ibgp });
        const framed = new Uint8Array(19 + body.length).fill(0xff);
        framed[16] = (framed.length >> 8) & 0xff;
        framed[17] = framed.length & 0xff;
        framed[18] = type;
        framed.set(body, 19);
        check(framed, { fourOctetAs: four, ibgp });
      }),
      { numRuns: 3000 },
    );
  });
  it('every truncation of a valid message is a NOTIFICATION, never a throw', () => {
    fc.assert(
      fc.property(messageArb, (m) => {
        const b = encodeMessage(m, IBGP4);
        for (let k = 0; k < b.length; k++) expect(decodeMessage(b.subarray(0, k), IBGP4).ok).toBe(false);
      }),
      { numRuns: 150 },
    );
  });
  it('random byte flips inside valid messages (header length kept consistent)', () => {
    fc.assert(
      fc.property(messageArb, fc.array(fc.tuple(fc.nat(), fc.nat({ max: 255 })), { minLength: 1, maxLength: 6 }), fc.boolean(), (m, flips, four) => {
        const b = encodeMessage(m, IBGP4);
        for (const [at, v] of flips) if (b.length > 19) b[19 + (at % (b.length - 19))] = v;
        check(b, { fourOctetAs: four, ibgp: true });
      }),
      { numRuns: 3000 },
    );
  });
  it('known attribute types with random values never throw', () => {
    fc.assert(
      fc.property(fc.constantFrom(...knownTypes), fc.constantFrom(0x40, 0x80, 0xc0, 0x50, 0x90), fc.uint8Array({ maxLength: 40 }), (type, flags, value) => {
        const ext = (flags & 0x10) !== 0;
        const attr = [flags, type, ...(ext ? [0, value.length] : [value.length]), ...value];
        const body = [0, 0, attr.length >> 8, attr.length & 0xff, ...attr, 8, 10];
        check(msg(2, toHex(Uint8Array.from(body))), { fourOctetAs: true, ibgp: true });
      }),
      { numRuns: 3000 },
    );
  });
});
