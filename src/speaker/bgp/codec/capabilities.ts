// Capabilities Optional Parameter (RFC 5492) and the capabilities ironlb understands.
import { ByteWriter, readU16, readU32 } from './bytes.js';

export const Afi = { Ipv4: 1, Ipv6: 2 } as const;
export const Safi = { Unicast: 1 } as const;

export interface AfiSafi {
  readonly afi: number;
  readonly safi: number;
}

export const CapabilityCode = {
  Multiprotocol: 1, // RFC 4760 §8
  RouteRefresh: 2, // RFC 2918
  GracefulRestart: 64, // RFC 4724 §3
  FourOctetAs: 65, // RFC 6793 §3
} as const;

export type Capability =
  | { readonly kind: 'multiprotocol'; readonly afi: number; readonly safi: number }
  | { readonly kind: 'routeRefresh' }
  | { readonly kind: 'fourOctetAs'; readonly asn: number }
  | {
      readonly kind: 'gracefulRestart';
      /** R bit: the sender has restarted (RFC 4724 §3). */
      readonly restarting: boolean;
      /** N bit (RFC 8538): GR also covers NOTIFICATIONs. Preserved, not acted on. */
      readonly notification: boolean;
      /** Seconds, 12 bits. */
      readonly restartTime: number;
      /** Per AFI/SAFI, F bit = forwarding state preserved across the restart. */
      readonly families: readonly { readonly afi: number; readonly safi: number; readonly forwardingPreserved: boolean }[];
    }
  /** Kept byte for byte and otherwise ignored (RFC 5492 §5: unknown capabilities are ignored). */
  | { readonly kind: 'unknown'; readonly code: number; readonly value: Uint8Array };

export function encodeCapability(c: Capability, w: ByteWriter): void {
  switch (c.kind) {
    case 'multiprotocol':
      w.u8(CapabilityCode.Multiprotocol).u8(4).u16(c.afi).u8(0).u8(c.safi);
      return;
    case 'routeRefresh':
      w.u8(CapabilityCode.RouteRefresh).u8(0);
      return;
    case 'fourOctetAs':
      w.u8(CapabilityCode.FourOctetAs).u8(4).u32(c.asn);
      return;
    case 'gracefulRestart': {
      w.u8(CapabilityCode.GracefulRestart).u8(2 + 4 * c.families.length);
      const flags = (c.restarting ? 0x8 : 0) | (c.notification ? 0x4 : 0);
      w.u16((flags << 12) | (c.restartTime & 0xfff));
      for (const f of c.families) w.u16(f.afi).u8(f.safi).u8(f.forwardingPreserved ? 0x80 : 0);
      return;
    }
    case 'unknown':
      w.u8(c.code).u8(c.value.length).bytes(c.value);
      return;
  }
}

/** Parses the value of a Capabilities parameter (a list of code/length/value); undefined when malformed. */
export function decodeCapabilities(b: Uint8Array): Capability[] | undefined {
  const out: Capability[] = [];
  let at = 0;
  while (at < b.length) {
    if (at + 2 > b.length) return undefined;
    const code = b[at]!;
    const len = b[at + 1]!;
    const v = b.subarray(at + 2, at + 2 + len);
    if (v.length !== len) return undefined;
    at += 2 + len;
    const cap = decodeOne(code, v);
    if (!cap) return undefined;
    out.push(cap);
  }
  return out;
}

function decodeOne(code: number, v: Uint8Array): Capability | undefined {
  switch (code) {
    case CapabilityCode.Multiprotocol:
      return v.length === 4 ? { kind: 'multiprotocol', afi: readU16(v, 0), safi: v[3]! } : undefined;
    case CapabilityCode.RouteRefresh:
      return v.length === 0 ? { kind: 'routeRefresh' } : undefined;
    case CapabilityCode.FourOctetAs:
      return v.length === 4 ? { kind: 'fourOctetAs', asn: readU32(v, 0) } : undefined;
    case CapabilityCode.GracefulRestart: {
      if (v.length < 2 || (v.length - 2) % 4 !== 0) return undefined;
      const head = readU16(v, 0);
      const families = [];
      for (let at = 2; at < v.length; at += 4) {
        families.push({ afi: readU16(v, at), safi: v[at + 2]!, forwardingPreserved: (v[at + 3]! & 0x80) !== 0 });
      }
      return {
        kind: 'gracefulRestart',
        restarting: (head & 0x8000) !== 0,
        notification: (head & 0x4000) !== 0,
        restartTime: head & 0xfff,
        families,
      };
    }
    default:
      return { kind: 'unknown', code, value: v.slice() };
  }
}

/** What both OPENs agree on (RFC 4271 §4.2 hold time, RFC 4760 §8 families, RFC 6793 §4 AS size). */
export interface Negotiated {
  /** Seconds; 0 = no keepalives, no hold timer. */
  readonly holdTime: number;
  /** Seconds between our KEEPALIVEs: holdTime / 3 rounded down (RFC 4271 §10 suggestion). */
  readonly keepaliveTime: number;
  readonly families: readonly AfiSafi[];
  readonly fourOctetAs: boolean;
  readonly routeRefresh: boolean;
  /** The peer's GR capability, when both sides sent one. */
  readonly peerGracefulRestart?: Extract<Capability, { kind: 'gracefulRestart' }>;
  /** The peer's AS: its 4-octet capability when present, else the OPEN's My AS field. */
  readonly peerAs: number;
  readonly peerBgpId: string;
}

/** RFC 4760 §8: without any MP capability a peer speaks IPv4 unicast only. */
export function familiesOf(caps: readonly Capability[]): AfiSafi[] {
  const mp = caps.filter((c): c is Extract<Capability, { kind: 'multiprotocol' }> => c.kind === 'multiprotocol');
  return mp.length === 0 ? [{ afi: Afi.Ipv4, safi: Safi.Unicast }] : mp.map((c) => ({ afi: c.afi, safi: c.safi }));
}

export function peerAsOf(open: { myAs: number; capabilities: readonly Capability[] }): number {
  const four = open.capabilities.find((c) => c.kind === 'fourOctetAs');
  return four && four.kind === 'fourOctetAs' ? four.asn : open.myAs;
}

export function negotiate(
  local: { holdTime: number; capabilities: readonly Capability[] },
  remote: { holdTime: number; myAs: number; bgpId: string; capabilities: readonly Capability[] },
): Negotiated {
  const holdTime = Math.min(local.holdTime, remote.holdTime);
  const theirs = familiesOf(remote.capabilities);
  const families = familiesOf(local.capabilities).filter((f) => theirs.some((t) => t.afi === f.afi && t.safi === f.safi));
  const has = (caps: readonly Capability[], k: Capability['kind']) => caps.some((c) => c.kind === k);
  const localGr = has(local.capabilities, 'gracefulRestart');
  const peerGr = remote.capabilities.find((c) => c.kind === 'gracefulRestart');
  return {
    holdTime,
    keepaliveTime: Math.floor(holdTime / 3),
    families,
    fourOctetAs: has(local.capabilities, 'fourOctetAs') && has(remote.capabilities, 'fourOctetAs'),
    routeRefresh: has(local.capabilities, 'routeRefresh') && has(remote.capabilities, 'routeRefresh'),
    ...(localGr && peerGr && peerGr.kind === 'gracefulRestart' ? { peerGracefulRestart: peerGr } : {}),
    peerAs: peerAsOf(remote),
    peerBgpId: remote.bgpId,
  };
}
