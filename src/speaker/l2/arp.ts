// ARP for IPv4 over Ethernet (RFC 826): parse requests, build replies and gratuitous ARP.
// Pure: bytes in, bytes out; wire input never throws.
import { ipFromBytes, ipToBytes } from '../../net/address.js';
import { BROADCAST_MAC, ETHERNET_HEADER_LENGTH, ETHERTYPE_ARP, type Parsed, writeEthernetHeader } from './ethernet.js';

export const ARP_OP_REQUEST = 1;
export const ARP_OP_REPLY = 2;
const HTYPE_ETHERNET = 1;
const PTYPE_IPV4 = 0x0800;
const ARP_PAYLOAD_LENGTH = 28;
/** Ethernet header + ARP payload; the NIC (or nobody, on a veth) pads to the 60-byte minimum. */
export const ARP_FRAME_LENGTH = ETHERNET_HEADER_LENGTH + ARP_PAYLOAD_LENGTH;

export interface ArpPacket {
  readonly ethernetDestination: Uint8Array;
  readonly ethernetSource: Uint8Array;
  readonly operation: number;
  readonly senderMac: Uint8Array;
  readonly senderIp: string;
  readonly targetMac: Uint8Array;
  readonly targetIp: string;
}

export type ArpRejectReason =
  | 'truncated'
  | 'not-arp'
  | 'not-ethernet-hardware'
  | 'not-ipv4-protocol'
  | 'bad-address-lengths'
  | 'unknown-operation'
  | 'not-a-request';

/** Any ARP-over-Ethernet/IPv4 packet (request or reply); trailing padding is ignored. */
export function parseArp(frame: Uint8Array): Parsed<ArpPacket, ArpRejectReason> {
  if (frame.length < ARP_FRAME_LENGTH) return { ok: false, reason: 'truncated' };
  const u16 = (o: number) => ((frame[o] ?? 0) << 8) | (frame[o + 1] ?? 0);
  if (u16(12) !== ETHERTYPE_ARP) return { ok: false, reason: 'not-arp' };
  const a = ETHERNET_HEADER_LENGTH;
  if (u16(a) !== HTYPE_ETHERNET) return { ok: false, reason: 'not-ethernet-hardware' };
  if (u16(a + 2) !== PTYPE_IPV4) return { ok: false, reason: 'not-ipv4-protocol' };
  if (frame[a + 4] !== 6 || frame[a + 5] !== 4) return { ok: false, reason: 'bad-address-lengths' };
  const operation = u16(a + 6);
  if (operation !== ARP_OP_REQUEST && operation !== ARP_OP_REPLY) return { ok: false, reason: 'unknown-operation' };
  return {
    ok: true,
    value: {
      ethernetDestination: frame.slice(0, 6),
      ethernetSource: frame.slice(6, 12),
      operation,
      senderMac: frame.slice(a + 8, a + 14),
      senderIp: ipFromBytes(frame.subarray(a + 14, a + 18)),
      targetMac: frame.slice(a + 18, a + 24),
      targetIp: ipFromBytes(frame.subarray(a + 24, a + 28)),
    },
  };
}

/** An ARP request ("who has targetIp? tell senderIp"), the only thing the responder answers. */
export function parseArpRequest(frame: Uint8Array): Parsed<ArpPacket, ArpRejectReason> {
  const p = parseArp(frame);
  if (p.ok && p.value.operation !== ARP_OP_REQUEST) return { ok: false, reason: 'not-a-request' };
  return p;
}

export interface ArpFields {
  readonly ethernetDestination: Uint8Array;
  readonly ethernetSource: Uint8Array;
  readonly operation: number;
  readonly senderMac: Uint8Array;
  readonly senderIp: string;
  readonly targetMac: Uint8Array;
  readonly targetIp: string;
}

function ipv4(text: string, field: string): Uint8Array {
  const b = ipToBytes(text);
  if (!b || b.length !== 4) throw new TypeError(`ARP ${field} "${text}" is not an IPv4 address`);
  return b;
}

function mac6(m: Uint8Array, field: string): Uint8Array {
  if (m.length !== 6) throw new TypeError(`ARP ${field} must be 6 bytes, got ${m.length}`);
  return m;
}

/** Encodes any ARP packet (used by the builders below and by tests/clients). */
export function encodeArp(f: ArpFields): Uint8Array {
  const frame = new Uint8Array(ARP_FRAME_LENGTH);
  writeEthernetHeader(frame, mac6(f.ethernetDestination, 'ethernetDestination'), mac6(f.ethernetSource, 'ethernetSource'), ETHERTYPE_ARP);
  const a = ETHERNET_HEADER_LENGTH;
  frame[a + 1] = HTYPE_ETHERNET;
  frame[a + 2] = PTYPE_IPV4 >> 8;
  frame[a + 3] = PTYPE_IPV4 & 0xff;
  frame[a + 4] = 6;
  frame[a + 5] = 4;
  frame[a + 6] = (f.operation >> 8) & 0xff;
  frame[a + 7] = f.operation & 0xff;
  frame.set(mac6(f.senderMac, 'senderMac'), a + 8);
  frame.set(ipv4(f.senderIp, 'senderIp'), a + 14);
  frame.set(mac6(f.targetMac, 'targetMac'), a + 18);
  frame.set(ipv4(f.targetIp, 'targetIp'), a + 24);
  return frame;
}

/** RFC 826 reply to `request` for `ip`, unicast to the requester's hardware address (as MetalLB does). */
export function buildArpReply(request: ArpPacket, ourMac: Uint8Array, ip: string): Uint8Array {
  return encodeArp({
    ethernetDestination: request.senderMac,
    ethernetSource: ourMac,
    operation: ARP_OP_REPLY,
    senderMac: ourMac,
    senderIp: ip,
    targetMac: request.senderMac,
    targetIp: request.senderIp,
  });
}

/**
 * Gratuitous ARP as MetalLB sends it (spec 4.7): sender IP = target IP = the VIP, sender MAC =
 * ours, target MAC = broadcast, to Ethernet broadcast; 'request' (op 1) and 'reply' (op 2).
 * Linux neighbours take the request form at once (sip == tip is a GARP regardless of the ARP
 * locktime); the reply form helps hosts that only learn from replies.
 */
export function buildGratuitousArp(ourMac: Uint8Array, ip: string, form: 'request' | 'reply'): Uint8Array {
  return encodeArp({
    ethernetDestination: BROADCAST_MAC,
    ethernetSource: ourMac,
    operation: form === 'request' ? ARP_OP_REQUEST : ARP_OP_REPLY,
    senderMac: ourMac,
    senderIp: ip,
    targetMac: BROADCAST_MAC,
    targetIp: ip,
  });
}

/** A plain broadcast "who has targetIp?" (for probes in tests and tools). */
export function buildArpRequest(ourMac: Uint8Array, ourIp: string, targetIp: string): Uint8Array {
  return encodeArp({
    ethernetDestination: BROADCAST_MAC,
    ethernetSource: ourMac,
    operation: ARP_OP_REQUEST,
    senderMac: ourMac,
    senderIp: ourIp,
    targetMac: new Uint8Array(6),
    targetIp,
  });
}
