// ARP (RFC 826) and NDP (RFC 4861) codecs. Known-answer vectors are frames the Linux kernel
// itself produced in two network namespaces (captured with our AF_PACKET socket), so the
// checksum and layout are checked against an independent implementation.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { ARP_OP_REPLY, ARP_OP_REQUEST, buildArpReply, buildArpRequest, buildGratuitousArp, encodeArp, parseArp, parseArpRequest } from '../../src/speaker/l2/arp.js';
import { formatMac, parseMac } from '../../src/speaker/l2/ethernet.js';
import {
  ALL_NODES_IP, buildNeighborSolicitation, buildSolicitedNeighborAdvertisement, buildUnsolicitedNeighborAdvertisement, encodeNdFrame,
  icmpv6Checksum, linkLayerOption, parseNeighborAdvertisement, parseNeighborSolicitation, solicitedNodeMulticastIp,
  solicitedNodeMulticastMac,
} from '../../src/speaker/l2/ndp.js';
import { canonicalIp, ipToBytes } from '../../src/net/address.js';

const hex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const MAC_A = parseMac('02:00:00:00:00:0a')!;
const MAC_B = parseMac('02:00:00:00:00:0b')!;

// Kernel (6.18) frames: host A (2001:db8:1::a, 192.0.2.10, 02:..:0a) resolving host B.
const KERNEL_NS = hex(`3333ff00000b 02000000000a 86dd 6000000000203aff 20010db800010000000000000000000a ff0200000000000000000001ff00000b
  87001c0100000000 20010db800010000000000000000000b 0101 02000000000a`);
const KERNEL_NA = hex(`02000000000a 02000000000b 86dd 6000000000203aff 20010db800010000000000000000000b 20010db800010000000000000000000a
  88008a4a60000000 20010db800010000000000000000000b 0201 02000000000b`);
const KERNEL_ARP_REPLY = hex('02000000000a 02000000000b 0806 0001 0800 06 04 0002 02000000000b c000020b 02000000000a c000020a');

/** Rewrites one byte of an ND frame and fixes the checksum, so only that field is wrong. */
function withByte(frame: Uint8Array, offset: number, value: number, fixChecksum = true): Uint8Array {
  const f = Uint8Array.from(frame);
  f[offset] = value;
  if (fixChecksum) {
    f[56] = 0;
    f[57] = 0;
    const payload = (f[18]! << 8) | f[19]!;
    const sum = icmpv6Checksum(f.subarray(22, 38), f.subarray(38, 54), f.subarray(54, 54 + payload));
    f[56] = sum >> 8;
    f[57] = sum & 0xff;
  }
  return f;
}

describe('ARP (RFC 826)', () => {
  test('parses the kernel reply and re-encodes it byte for byte', () => {
    const p = parseArp(KERNEL_ARP_REPLY);
    expect(p.ok).toBe(true);
    if (!p.ok) return;
    expect(p.value).toMatchObject({ operation: ARP_OP_REPLY, senderIp: '192.0.2.11', targetIp: '192.0.2.10' });
    expect(formatMac(p.value.senderMac)).toBe('02:00:00:00:00:0b');
    expect(toHex(encodeArp(p.value))).toBe(toHex(KERNEL_ARP_REPLY));
    expect(parseArpRequest(KERNEL_ARP_REPLY)).toEqual({ ok: false, reason: 'not-a-request' });
  });

  test('a reply goes to the requester with our MAC as sender and the VIP as sender IP', () => {
    const req = parseArpRequest(buildArpRequest(MAC_A, '192.0.2.10', '192.0.2.200'));
    expect(req.ok).toBe(true);
    if (!req.ok) return;
    const reply = parseArp(buildArpReply(req.value, MAC_B, '192.0.2.200'));
    expect(reply.ok).toBe(true);
    if (!reply.ok) return;
    expect(formatMac(reply.value.ethernetDestination)).toBe('02:00:00:00:00:0a');
    expect(formatMac(reply.value.ethernetSource)).toBe('02:00:00:00:00:0b');
    expect(reply.value).toMatchObject({ operation: ARP_OP_REPLY, senderIp: '192.0.2.200', targetIp: '192.0.2.10' });
    expect(formatMac(reply.value.senderMac)).toBe('02:00:00:00:00:0b');
    expect(formatMac(reply.value.targetMac)).toBe('02:00:00:00:00:0a');
  });

  test.each(['request', 'reply'] as const)('gratuitous %s: sender = target = VIP, target MAC and Ethernet destination broadcast', (form) => {
    const p = parseArp(buildGratuitousArp(MAC_B, '192.0.2.200', form));
    expect(p.ok).toBe(true);
    if (!p.ok) return;
    expect(p.value.operation).toBe(form === 'request' ? ARP_OP_REQUEST : ARP_OP_REPLY);
    expect(p.value.senderIp).toBe('192.0.2.200');
    expect(p.value.targetIp).toBe('192.0.2.200');
    expect(formatMac(p.value.senderMac)).toBe('02:00:00:00:00:0b');
    expect(formatMac(p.value.targetMac)).toBe('ff:ff:ff:ff:ff:ff');
    expect(formatMac(p.value.ethernetDestination)).toBe('ff:ff:ff:ff:ff:ff');
  });

  test('rejects malformed packets with a reason, accepts Ethernet padding', () => {
    const good = buildArpRequest(MAC_A, '192.0.2.10', '192.0.2.200');
    const patch = (o: number, v: number) => { const f = Uint8Array.from(good); f[o] = v; return f; };
    expect(parseArpRequest(good.subarray(0, 41))).toEqual({ ok: false, reason: 'truncated' });
    expect(parseArpRequest(patch(13, 0x07))).toEqual({ ok: false, reason: 'not-arp' });
    expect(parseArpRequest(patch(15, 6))).toEqual({ ok: false, reason: 'not-ethernet-hardware' });
    expect(parseArpRequest(patch(16, 0x86))).toEqual({ ok: false, reason: 'not-ipv4-protocol' });
    expect(parseArpRequest(patch(18, 8))).toEqual({ ok: false, reason: 'bad-address-lengths' });
    expect(parseArpRequest(patch(19, 16))).toEqual({ ok: false, reason: 'bad-address-lengths' });
    expect(parseArpRequest(patch(21, 3))).toEqual({ ok: false, reason: 'unknown-operation' });
    const padded = new Uint8Array(60);
    padded.set(good);
    expect(parseArpRequest(padded).ok).toBe(true);
  });

  test('builders refuse bad arguments loudly (programming errors, not wire input)', () => {
    expect(() => buildGratuitousArp(MAC_A, '2001:db8::1', 'request')).toThrow(/not an IPv4 address/);
    expect(() => buildGratuitousArp(new Uint8Array(5), '192.0.2.1', 'request')).toThrow(/6 bytes/);
  });
});

describe('NDP (RFC 4861)', () => {
  test('parses the kernel solicitation and re-encodes it byte for byte (checksum per RFC 4443)', () => {
    const p = parseNeighborSolicitation(KERNEL_NS);
    expect(p.ok).toBe(true);
    if (!p.ok) return;
    expect(p.value).toMatchObject({ sourceIp: '2001:db8:1::a', destinationIp: 'ff02::1:ff00:b', targetIp: '2001:db8:1::b' });
    expect(formatMac(p.value.sourceLinkLayer!)).toBe('02:00:00:00:00:0a');
    expect(toHex(buildNeighborSolicitation(MAC_A, '2001:db8:1::a', '2001:db8:1::b'))).toBe(toHex(KERNEL_NS));
  });

  test('parses the kernel advertisement and re-encodes it byte for byte', () => {
    const p = parseNeighborAdvertisement(KERNEL_NA);
    expect(p.ok).toBe(true);
    if (!p.ok) return;
    expect(p.value).toMatchObject({ sourceIp: '2001:db8:1::b', destinationIp: '2001:db8:1::a', targetIp: '2001:db8:1::b', solicited: true, override: true, router: false });
    expect(formatMac(p.value.targetLinkLayer!)).toBe('02:00:00:00:00:0b');
    const again = encodeNdFrame({
      ethernetDestination: MAC_A, ethernetSource: MAC_B, sourceIp: '2001:db8:1::b', destinationIp: '2001:db8:1::a',
      type: 136, flags: 0x60, targetIp: '2001:db8:1::b', options: linkLayerOption('target', MAC_B),
    });
    expect(toHex(again)).toBe(toHex(KERNEL_NA));
  });

  test('solicited NA: unicast to the NS source and its link-layer address, S=1 O=0, hop limit 255, target option', () => {
    const ns = parseNeighborSolicitation(KERNEL_NS);
    if (!ns.ok) throw new Error(ns.reason);
    const frame = buildSolicitedNeighborAdvertisement(ns.value, MAC_B, 'fe80::b', '2001:db8:1::b');
    expect(frame[21]).toBe(255);
    const na = parseNeighborAdvertisement(frame);
    expect(na.ok).toBe(true);
    if (!na.ok) return;
    expect(na.value).toMatchObject({ sourceIp: 'fe80::b', destinationIp: '2001:db8:1::a', targetIp: '2001:db8:1::b', solicited: true, override: false, router: false });
    expect(formatMac(na.value.ethernetDestination)).toBe('02:00:00:00:00:0a');
    expect(formatMac(na.value.targetLinkLayer!)).toBe('02:00:00:00:00:0b');
  });

  test('unsolicited NA: to ff02::1 / 33:33:00:00:00:01, O=1 S=0, target option', () => {
    const na = parseNeighborAdvertisement(buildUnsolicitedNeighborAdvertisement(MAC_B, 'fe80::b', '2001:db8:1::200'));
    expect(na.ok).toBe(true);
    if (!na.ok) return;
    expect(na.value).toMatchObject({ destinationIp: ALL_NODES_IP, targetIp: '2001:db8:1::200', solicited: false, override: true });
    expect(formatMac(na.value.ethernetDestination)).toBe('33:33:00:00:00:01');
    expect(formatMac(na.value.targetLinkLayer!)).toBe('02:00:00:00:00:0b');
  });

  test('solicited-node multicast address and MAC (RFC 4291 2.7.1, RFC 2464 7)', () => {
    expect(solicitedNodeMulticastIp('4037::1:800:200e:8c6c')).toBe('ff02::1:ff0e:8c6c');
    expect(solicitedNodeMulticastIp('2001:db8:1::200')).toBe('ff02::1:ff00:200');
    expect(formatMac(solicitedNodeMulticastMac('2001:db8:1::200'))).toBe('33:33:ff:00:02:00');
    expect(() => solicitedNodeMulticastIp('192.0.2.1')).toThrow(/not an IPv6 address/);
  });

  test('RFC 4861 7.1.1 validity checks each give their reason', () => {
    const good = KERNEL_NS;
    expect(parseNeighborSolicitation(withByte(good, 21, 64, false))).toEqual({ ok: false, reason: 'hop-limit-not-255' });
    expect(parseNeighborSolicitation(withByte(good, 55, 1))).toEqual({ ok: false, reason: 'nonzero-code' });
    expect(parseNeighborSolicitation(withByte(good, 57, good[57]! ^ 0x01, false))).toEqual({ ok: false, reason: 'bad-checksum' });
    expect(parseNeighborSolicitation(withByte(good, 62, 0xff))).toEqual({ ok: false, reason: 'multicast-target' });
    expect(parseNeighborSolicitation(withByte(good, 79, 0))).toEqual({ ok: false, reason: 'zero-length-option' });
    expect(parseNeighborSolicitation(withByte(good, 79, 2))).toEqual({ ok: false, reason: 'truncated-option' });
    expect(parseNeighborSolicitation(withByte(good, 20, 0, false))).toEqual({ ok: false, reason: 'not-icmpv6' });
    expect(parseNeighborSolicitation(withByte(good, 14, 0x40, false))).toEqual({ ok: false, reason: 'not-ipv6' });
    expect(parseNeighborSolicitation(withByte(good, 54, 136))).toEqual({ ok: false, reason: 'wrong-icmpv6-type' });
    expect(parseNeighborSolicitation(good.subarray(0, good.length - 1))).toEqual({ ok: false, reason: 'truncated' });
    // payload length 20 (< 24 octets of NS) with a correct checksum over those 20 bytes
    const short = Uint8Array.from(good.subarray(0, 74));
    short[19] = 20;
    expect(parseNeighborSolicitation(withByte(short, 56, 0))).toEqual({ ok: false, reason: 'message-too-short' });
    // Two 8-octet SLLA units: not an Ethernet link-layer option.
    const longOption = encodeNdFrame({
      ethernetDestination: MAC_B, ethernetSource: MAC_A, sourceIp: 'fe80::a', destinationIp: 'ff02::1:ff00:b', type: 135, targetIp: '2001:db8:1::b',
      options: Uint8Array.of(1, 2, ...MAC_A, 0, 0, 0, 0, 0, 0, 0, 0),
    });
    expect(parseNeighborSolicitation(longOption)).toEqual({ ok: false, reason: 'bad-link-layer-option' });
  });

  test('DAD probes (source ::) must go to the solicited-node group and carry no link-layer option', () => {
    const dad = encodeNdFrame({ ethernetDestination: MAC_B, ethernetSource: MAC_A, sourceIp: '::', destinationIp: 'ff02::1:ff00:b', type: 135, targetIp: '2001:db8:1::b' });
    const p = parseNeighborSolicitation(dad);
    expect(p.ok && p.value.sourceLinkLayer).toBe(undefined);
    const toAllNodes = encodeNdFrame({ ethernetDestination: MAC_B, ethernetSource: MAC_A, sourceIp: '::', destinationIp: 'ff02::1', type: 135, targetIp: '2001:db8:1::b' });
    expect(parseNeighborSolicitation(toAllNodes)).toEqual({ ok: false, reason: 'unspecified-source-not-to-solicited-node' });
    const withSll = encodeNdFrame({
      ethernetDestination: MAC_B, ethernetSource: MAC_A, sourceIp: '::', destinationIp: 'ff02::1:ff00:b', type: 135, targetIp: '2001:db8:1::b',
      options: linkLayerOption('source', MAC_A),
    });
    expect(parseNeighborSolicitation(withSll)).toEqual({ ok: false, reason: 'unspecified-source-with-link-layer-option' });
  });

  test('a solicited NA to a multicast destination is invalid (RFC 4861 7.1.2)', () => {
    const bad = encodeNdFrame({ ethernetDestination: MAC_B, ethernetSource: MAC_A, sourceIp: 'fe80::a', destinationIp: 'ff02::1', type: 136, flags: 0x40, targetIp: '2001:db8:1::b' });
    expect(parseNeighborAdvertisement(bad)).toEqual({ ok: false, reason: 'solicited-to-multicast' });
  });
});

// ------------------------------------------------------------------ properties

const macArb = fc.uint8Array({ minLength: 6, maxLength: 6 });
const ipv4Arb = fc.ipV4();
// Real IPv6 (not IPv4-mapped, which Go and address.ts treat as IPv4), not the unspecified address.
const ipv6Arb = fc.ipV6().filter((ip) => {
  const b = ipToBytes(ip);
  return b !== undefined && b.length === 16 && b.some((x) => x !== 0);
});
const unicastIpv6Arb = ipv6Arb.filter((ip) => ipToBytes(ip)![0] !== 0xff);

describe('properties', () => {
  test('ARP: encode -> parse returns every field', () => {
    fc.assert(fc.property(macArb, macArb, ipv4Arb, macArb, ipv4Arb, fc.constantFrom(1, 2), (dst, src, sip, tha, tip, op) => {
      const p = parseArp(encodeArp({ ethernetDestination: dst, ethernetSource: src, operation: op, senderMac: src, senderIp: sip, targetMac: tha, targetIp: tip }));
      expect(p.ok).toBe(true);
      if (!p.ok) return;
      expect(p.value.operation).toBe(op);
      expect(toHex(p.value.ethernetDestination)).toBe(toHex(dst));
      expect(toHex(p.value.targetMac)).toBe(toHex(tha));
      expect(p.value.senderIp).toBe(sip.split('.').map(Number).join('.'));
      expect(p.value.targetIp).toBe(tip.split('.').map(Number).join('.'));
    }));
  });

  test('NDP: NS build -> parse, and the solicited NA answering it parses back', () => {
    fc.assert(fc.property(macArb, macArb, unicastIpv6Arb, unicastIpv6Arb, (clientMac, ourMac, src, target) => {
      const ns = parseNeighborSolicitation(buildNeighborSolicitation(clientMac, src, target));
      expect(ns.ok).toBe(true);
      if (!ns.ok) return;
      expect(ns.value.sourceIp).toBe(canonicalIp(src));
      expect(ns.value.targetIp).toBe(canonicalIp(target));
      expect(ns.value.destinationIp).toBe(solicitedNodeMulticastIp(target));
      expect(toHex(ns.value.sourceLinkLayer!)).toBe(toHex(clientMac));
      const na = parseNeighborAdvertisement(buildSolicitedNeighborAdvertisement(ns.value, ourMac, 'fe80::1', ns.value.targetIp));
      expect(na.ok).toBe(true);
      if (!na.ok) return;
      expect(na.value.targetIp).toBe(ns.value.targetIp);
      expect(na.value.destinationIp).toBe(ns.value.sourceIp);
      expect(toHex(na.value.targetLinkLayer!)).toBe(toHex(ourMac));
      expect(toHex(na.value.ethernetDestination)).toBe(toHex(clientMac));
    }));
  });

  test('NDP: any single changed byte in addresses or ICMPv6 message is rejected', () => {
    fc.assert(fc.property(fc.integer({ min: 22, max: KERNEL_NS.length - 1 }), fc.integer({ min: 1, max: 255 }), (offset, delta) => {
      const f = Uint8Array.from(KERNEL_NS);
      f[offset] = (f[offset]! + delta) & 0xff;
      expect(parseNeighborSolicitation(f).ok).toBe(false);
    }));
  });

  test('random bytes never throw, from any parser', () => {
    const parsers = [parseArp, parseArpRequest, parseNeighborSolicitation, parseNeighborAdvertisement];
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
      for (const parse of parsers) {
        const r = parse(bytes);
        expect(typeof r.ok).toBe('boolean');
        if (!r.ok) expect(typeof r.reason).toBe('string');
      }
    }), { numRuns: 2000 });
  });

  test('frames that look right at the start but are random after never throw', () => {
    const prefixes = [KERNEL_NS.subarray(0, 54), KERNEL_ARP_REPLY.subarray(0, 22), KERNEL_NA.subarray(0, 58)];
    fc.assert(fc.property(fc.constantFrom(...prefixes), fc.uint8Array({ maxLength: 120 }), (prefix, tail) => {
      const f = new Uint8Array(prefix.length + tail.length);
      f.set(prefix);
      f.set(tail, prefix.length);
      for (const parse of [parseArpRequest, parseNeighborSolicitation, parseNeighborAdvertisement]) expect(() => parse(f)).not.toThrow();
    }), { numRuns: 2000 });
  });
});
