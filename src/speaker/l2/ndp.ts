// IPv6 Neighbor Discovery over raw Ethernet (RFC 4861 sections 4.3, 4.4, 7.1, 7.2): parse
// Neighbor Solicitations, build solicited and unsolicited Neighbor Advertisements. We send
// whole frames on an AF_PACKET socket, so we also write the IPv6 header and the ICMPv6
// checksum (RFC 4443 section 2.3 over the RFC 2460 section 8.1 pseudo-header).
// Pure: bytes in, bytes out; wire input never throws.
import { ipFromBytes, ipToBytes } from '../../net/address.js';
import { ETHERNET_HEADER_LENGTH, ETHERTYPE_IPV6, type Parsed, writeEthernetHeader } from './ethernet.js';

const IPV6_HEADER_LENGTH = 40;
const NEXT_HEADER_ICMPV6 = 58;
const ICMPV6_OFFSET = ETHERNET_HEADER_LENGTH + IPV6_HEADER_LENGTH; // 54
export const ICMPV6_NEIGHBOR_SOLICITATION = 135;
export const ICMPV6_NEIGHBOR_ADVERTISEMENT = 136;
/** type, code, checksum, 4 bytes reserved/flags, 16 bytes target (RFC 4861 4.3/4.4). */
const ND_MESSAGE_LENGTH = 24;
const OPTION_SOURCE_LINK_LAYER = 1;
const OPTION_TARGET_LINK_LAYER = 2;
const NA_FLAG_ROUTER = 0x80;
const NA_FLAG_SOLICITED = 0x40;
const NA_FLAG_OVERRIDE = 0x20;
/** RFC 4861 7.1: ND packets must arrive with hop limit 255 (proof they were not routed). */
const ND_HOP_LIMIT = 255;

export const ALL_NODES_IP = 'ff02::1';
export const ALL_NODES_MAC: Readonly<Uint8Array> = Uint8Array.of(0x33, 0x33, 0, 0, 0, 1);

export interface NeighborSolicitation {
  readonly ethernetDestination: Uint8Array;
  readonly ethernetSource: Uint8Array;
  readonly sourceIp: string;
  readonly destinationIp: string;
  readonly targetIp: string;
  /** Source link-layer address option; absent in DAD probes (source ::). */
  readonly sourceLinkLayer: Uint8Array | undefined;
}

export interface NeighborAdvertisement {
  readonly ethernetDestination: Uint8Array;
  readonly ethernetSource: Uint8Array;
  readonly sourceIp: string;
  readonly destinationIp: string;
  readonly targetIp: string;
  readonly router: boolean;
  readonly solicited: boolean;
  readonly override: boolean;
  readonly targetLinkLayer: Uint8Array | undefined;
}

export type NdpRejectReason =
  | 'truncated'
  | 'not-ipv6'
  | 'not-icmpv6'
  | 'wrong-icmpv6-type'
  | 'hop-limit-not-255'
  | 'nonzero-code'
  | 'bad-checksum'
  | 'message-too-short'
  | 'multicast-target'
  | 'zero-length-option'
  | 'truncated-option'
  | 'bad-link-layer-option'
  | 'unspecified-source-not-to-solicited-node'
  | 'unspecified-source-with-link-layer-option'
  | 'solicited-to-multicast';

const UNSPECIFIED = new Uint8Array(16);

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * ICMPv6 checksum (RFC 4443 2.3): one's complement sum over the pseudo-header (source,
 * destination, 32-bit upper-layer length, 3 zero bytes, next header 58) and the message.
 * With the checksum field included, a valid message sums to 0.
 */
export function icmpv6Checksum(source: Uint8Array, destination: Uint8Array, message: Uint8Array): number {
  let sum = 0;
  const add16 = (b: Uint8Array) => {
    for (let i = 0; i < b.length; i += 2) sum += ((b[i] ?? 0) << 8) | (b[i + 1] ?? 0);
  };
  add16(source);
  add16(destination);
  const len = message.length;
  sum += (len >>> 16) & 0xffff;
  sum += len & 0xffff;
  sum += NEXT_HEADER_ICMPV6;
  add16(message);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** ff02::1:ffXX:XXXX for an IPv6 address (RFC 4291 2.7.1): the group an NS for it is sent to. */
export function solicitedNodeMulticastBytes(ip: Uint8Array): Uint8Array {
  const g = new Uint8Array(16);
  g[0] = 0xff;
  g[1] = 0x02;
  g[11] = 0x01;
  g[12] = 0xff;
  g.set(ip.subarray(13, 16), 13);
  return g;
}

export function solicitedNodeMulticastIp(ip: string): string {
  return ipFromBytes(solicitedNodeMulticastBytes(ipv6(ip, 'address')));
}

/** 33:33 + the low 32 bits of an IPv6 multicast group (RFC 2464 section 7). */
export function ipv6MulticastMac(group: Uint8Array): Uint8Array {
  return Uint8Array.of(0x33, 0x33, group[12] ?? 0, group[13] ?? 0, group[14] ?? 0, group[15] ?? 0);
}

/** 33:33:ff:XX:XX:XX: the Ethernet group to join so solicitations for `ip` reach us. */
export function solicitedNodeMulticastMac(ip: string): Uint8Array {
  return ipv6MulticastMac(solicitedNodeMulticastBytes(ipv6(ip, 'address')));
}

function ipv6(text: string, field: string): Uint8Array {
  const b = ipToBytes(text);
  if (!b || b.length !== 16) throw new TypeError(`NDP ${field} "${text}" is not an IPv6 address`);
  return b;
}

interface IcmpView {
  readonly frame: Uint8Array;
  readonly message: Uint8Array; // the ICMPv6 message (payload length bytes, no padding)
  readonly source: Uint8Array;
  readonly destination: Uint8Array;
}

/** Common checks of RFC 4861 7.1.1 / 7.1.2 up to the ICMPv6 type. */
function readNdMessage(frame: Uint8Array, type: number): Parsed<IcmpView, NdpRejectReason> {
  if (frame.length < ICMPV6_OFFSET) return { ok: false, reason: 'truncated' };
  if ((((frame[12] ?? 0) << 8) | (frame[13] ?? 0)) !== ETHERTYPE_IPV6) return { ok: false, reason: 'not-ipv6' };
  if (((frame[14] ?? 0) >> 4) !== 6) return { ok: false, reason: 'not-ipv6' };
  const payloadLength = ((frame[18] ?? 0) << 8) | (frame[19] ?? 0);
  // Extension headers are not followed: ND messages are sent without them.
  if (frame[20] !== NEXT_HEADER_ICMPV6) return { ok: false, reason: 'not-icmpv6' };
  if (ICMPV6_OFFSET + payloadLength > frame.length) return { ok: false, reason: 'truncated' };
  if (payloadLength < 4) return { ok: false, reason: 'message-too-short' };
  const message = frame.subarray(ICMPV6_OFFSET, ICMPV6_OFFSET + payloadLength);
  if (message[0] !== type) return { ok: false, reason: 'wrong-icmpv6-type' };
  if (frame[21] !== ND_HOP_LIMIT) return { ok: false, reason: 'hop-limit-not-255' };
  if (message[1] !== 0) return { ok: false, reason: 'nonzero-code' };
  if (payloadLength < ND_MESSAGE_LENGTH) return { ok: false, reason: 'message-too-short' };
  const source = frame.subarray(22, 38);
  const destination = frame.subarray(38, 54);
  if (icmpv6Checksum(source, destination, message) !== 0) return { ok: false, reason: 'bad-checksum' };
  if (message[8] === 0xff) return { ok: false, reason: 'multicast-target' };
  return { ok: true, value: { frame, message, source, destination } };
}

/** Walks the options; every option must have a non-zero length and fit (RFC 4861 4.6 / 7.1). */
function readLinkLayerOption(message: Uint8Array, wanted: number): Parsed<Uint8Array | undefined, NdpRejectReason> {
  let found: Uint8Array | undefined;
  let o = ND_MESSAGE_LENGTH;
  while (o < message.length) {
    if (o + 2 > message.length) return { ok: false, reason: 'truncated-option' };
    const type = message[o] ?? 0;
    const units = message[o + 1] ?? 0;
    if (units === 0) return { ok: false, reason: 'zero-length-option' };
    const len = units * 8;
    if (o + len > message.length) return { ok: false, reason: 'truncated-option' };
    if (type === wanted && found === undefined) {
      // Ethernet link-layer address option: exactly one 8-octet unit (RFC 2464 section 6).
      if (units !== 1) return { ok: false, reason: 'bad-link-layer-option' };
      found = message.slice(o + 2, o + 8);
    }
    o += len;
  }
  return { ok: true, value: found };
}

/** Validates an Ethernet frame as a Neighbor Solicitation (RFC 4861 7.1.1). */
export function parseNeighborSolicitation(frame: Uint8Array): Parsed<NeighborSolicitation, NdpRejectReason> {
  const m = readNdMessage(frame, ICMPV6_NEIGHBOR_SOLICITATION);
  if (!m.ok) return m;
  const { message, source, destination } = m.value;
  const sll = readLinkLayerOption(message, OPTION_SOURCE_LINK_LAYER);
  if (!sll.ok) return sll;
  const target = message.subarray(8, 24);
  if (bytesEqual(source, UNSPECIFIED)) {
    if (!bytesEqual(destination, solicitedNodeMulticastBytes(target))) return { ok: false, reason: 'unspecified-source-not-to-solicited-node' };
    if (sll.value) return { ok: false, reason: 'unspecified-source-with-link-layer-option' };
  }
  return {
    ok: true,
    value: {
      ethernetDestination: frame.slice(0, 6),
      ethernetSource: frame.slice(6, 12),
      sourceIp: ipFromBytes(source),
      destinationIp: ipFromBytes(destination),
      targetIp: ipFromBytes(target),
      sourceLinkLayer: sll.value,
    },
  };
}

/** Validates an Ethernet frame as a Neighbor Advertisement (RFC 4861 7.1.2). */
export function parseNeighborAdvertisement(frame: Uint8Array): Parsed<NeighborAdvertisement, NdpRejectReason> {
  const m = readNdMessage(frame, ICMPV6_NEIGHBOR_ADVERTISEMENT);
  if (!m.ok) return m;
  const { message, source, destination } = m.value;
  const flags = message[4] ?? 0;
  const solicited = (flags & NA_FLAG_SOLICITED) !== 0;
  if (solicited && destination[0] === 0xff) return { ok: false, reason: 'solicited-to-multicast' };
  const tll = readLinkLayerOption(message, OPTION_TARGET_LINK_LAYER);
  if (!tll.ok) return tll;
  return {
    ok: true,
    value: {
      ethernetDestination: frame.slice(0, 6),
      ethernetSource: frame.slice(6, 12),
      sourceIp: ipFromBytes(source),
      destinationIp: ipFromBytes(destination),
      targetIp: ipFromBytes(message.subarray(8, 24)),
      router: (flags & NA_FLAG_ROUTER) !== 0,
      solicited,
      override: (flags & NA_FLAG_OVERRIDE) !== 0,
      targetLinkLayer: tll.value,
    },
  };
}

export interface NdFrameFields {
  readonly ethernetDestination: Uint8Array;
  readonly ethernetSource: Uint8Array;
  readonly sourceIp: string;
  readonly destinationIp: string;
  readonly type: number;
  /** Byte 4 of the message: NA flags (R/S/O); 0 for NS. */
  readonly flags?: number;
  readonly targetIp: string;
  /** Raw options, already padded to 8-octet units. */
  readonly options?: Uint8Array;
  readonly hopLimit?: number;
  readonly code?: number;
}

/** Encodes an NS/NA frame with a correct checksum (hop limit 255 unless a test overrides it). */
export function encodeNdFrame(f: NdFrameFields): Uint8Array {
  const options = f.options ?? new Uint8Array(0);
  const payloadLength = ND_MESSAGE_LENGTH + options.length;
  const frame = new Uint8Array(ICMPV6_OFFSET + payloadLength);
  writeEthernetHeader(frame, f.ethernetDestination, f.ethernetSource, ETHERTYPE_IPV6);
  const src = ipv6(f.sourceIp, 'sourceIp');
  const dst = ipv6(f.destinationIp, 'destinationIp');
  frame[14] = 0x60;
  frame[18] = payloadLength >> 8;
  frame[19] = payloadLength & 0xff;
  frame[20] = NEXT_HEADER_ICMPV6;
  frame[21] = f.hopLimit ?? ND_HOP_LIMIT;
  frame.set(src, 22);
  frame.set(dst, 38);
  const m = ICMPV6_OFFSET;
  frame[m] = f.type;
  frame[m + 1] = f.code ?? 0;
  frame[m + 4] = f.flags ?? 0;
  frame.set(ipv6(f.targetIp, 'targetIp'), m + 8);
  frame.set(options, m + ND_MESSAGE_LENGTH);
  const sum = icmpv6Checksum(src, dst, frame.subarray(m));
  frame[m + 2] = sum >> 8;
  frame[m + 3] = sum & 0xff;
  return frame;
}

export function linkLayerOption(type: 'source' | 'target', mac: Uint8Array): Uint8Array {
  if (mac.length !== 6) throw new TypeError(`a link-layer address option carries a 6-byte MAC, got ${mac.length} bytes`);
  const o = new Uint8Array(8);
  o[0] = type === 'source' ? OPTION_SOURCE_LINK_LAYER : OPTION_TARGET_LINK_LAYER;
  o[1] = 1;
  o.set(mac, 2);
  return o;
}

/**
 * The answer to `ns` for `targetIp` (spec 4.6 / RFC 4861 7.2.4): unicast to the solicitation's
 * source, Solicited=1, Override=0, Target link-layer option = our MAC, from our link-local.
 * The responder only calls this for solicitations that carry a source link-layer option.
 */
export function buildSolicitedNeighborAdvertisement(ns: NeighborSolicitation, ourMac: Uint8Array, ourLinkLocal: string, targetIp: string): Uint8Array {
  return encodeNdFrame({
    ethernetDestination: ns.sourceLinkLayer ?? ns.ethernetSource,
    ethernetSource: ourMac,
    sourceIp: ourLinkLocal,
    destinationIp: ns.sourceIp,
    type: ICMPV6_NEIGHBOR_ADVERTISEMENT,
    flags: NA_FLAG_SOLICITED,
    targetIp,
    options: linkLayerOption('target', ourMac),
  });
}

/** Unsolicited NA to all nodes (spec 4.7 / RFC 4861 7.2.6): Override=1, Solicited=0, Target LLA. */
export function buildUnsolicitedNeighborAdvertisement(ourMac: Uint8Array, ourLinkLocal: string, targetIp: string): Uint8Array {
  return encodeNdFrame({
    ethernetDestination: ALL_NODES_MAC,
    ethernetSource: ourMac,
    sourceIp: ourLinkLocal,
    destinationIp: ALL_NODES_IP,
    type: ICMPV6_NEIGHBOR_ADVERTISEMENT,
    flags: NA_FLAG_OVERRIDE,
    targetIp,
    options: linkLayerOption('target', ourMac),
  });
}

/** An address-resolution NS for `targetIp` to its solicited-node group (for probes and tests). */
export function buildNeighborSolicitation(ourMac: Uint8Array, sourceIp: string, targetIp: string, withSourceLinkLayer = true): Uint8Array {
  const group = solicitedNodeMulticastBytes(ipv6(targetIp, 'targetIp'));
  return encodeNdFrame({
    ethernetDestination: ipv6MulticastMac(group),
    ethernetSource: ourMac,
    sourceIp,
    destinationIp: ipFromBytes(group),
    type: ICMPV6_NEIGHBOR_SOLICITATION,
    targetIp,
    options: withSourceLinkLayer ? linkLayerOption('source', ourMac) : undefined,
  });
}
