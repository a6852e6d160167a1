// Path attributes (RFC 4271 §4.3, §5) with RFC 7606 revised error handling.
import { ipFromBytes, ipToBytes } from '../../../net/address.js';
import { ByteWriter, readU16, readU32 } from './bytes.js';
import { Afi, Safi } from './capabilities.js';
import { decodePrefixes, encodePrefix, type Prefix } from './nlri.js';

export const AttrType = {
  Origin: 1,
  AsPath: 2,
  NextHop: 3,
  MultiExitDisc: 4,
  LocalPref: 5,
  AtomicAggregate: 6,
  Aggregator: 7,
  Communities: 8, // RFC 1997
  OriginatorId: 9,
  ClusterList: 10,
  MpReachNlri: 14, // RFC 4760
  MpUnreachNlri: 15,
  As4Path: 17, // RFC 6793
  As4Aggregator: 18,
  LargeCommunity: 32, // RFC 8092
} as const;

export const AttrFlag = { Optional: 0x80, Transitive: 0x40, Partial: 0x20, ExtendedLength: 0x10 } as const;

/** RFC 6793 §9. */
export const AS_TRANS = 23456;

export const Origin = { Igp: 0, Egp: 1, Incomplete: 2 } as const;

export interface AsPathSegment {
  /** 1 AS_SET, 2 AS_SEQUENCE (RFC 4271); 3/4 confederation segments (RFC 5065) are parsed and kept. */
  readonly type: 1 | 2 | 3 | 4;
  readonly asns: readonly number[];
}

export interface LargeCommunity {
  readonly global: number;
  readonly local1: number;
  readonly local2: number;
}

export interface MpReach {
  readonly afi: number;
  readonly safi: number;
  /** Global next hop, then optionally the link-local one (IPv6, RFC 2545 §3). */
  readonly nextHops: readonly string[];
  readonly nlri: readonly Prefix[];
}

export interface MpUnreach {
  readonly afi: number;
  readonly safi: number;
  readonly withdrawn: readonly Prefix[];
}

export interface UnknownAttribute {
  readonly flags: number;
  readonly type: number;
  readonly value: Uint8Array;
}

export interface PathAttributes {
  readonly origin?: number;
  readonly asPath?: readonly AsPathSegment[];
  readonly nextHop?: string;
  readonly med?: number;
  readonly localPref?: number;
  readonly atomicAggregate?: boolean;
  readonly aggregator?: { readonly asn: number; readonly address: string };
  readonly communities?: readonly number[];
  readonly originatorId?: string;
  readonly clusterList?: readonly string[];
  readonly mpReach?: MpReach;
  readonly mpUnreach?: MpUnreach;
  /** Only meaningful on 2-octet sessions (RFC 6793 §4.2.2); see effectiveAsPath. */
  readonly as4Path?: readonly AsPathSegment[];
  readonly as4Aggregator?: { readonly asn: number; readonly address: string };
  readonly largeCommunities?: readonly LargeCommunity[];
  /** Unrecognised optional attributes, kept as received (RFC 4271 §5). */
  readonly unknown?: readonly UnknownAttribute[];
}

/** What the codec needs to know about the session. */
export interface SessionCodecContext {
  /** Both sides sent the 4-octet AS capability: AS numbers in AS_PATH/AGGREGATOR are 4 octets (RFC 6793). */
  readonly fourOctetAs: boolean;
  /** iBGP session: LOCAL_PREF is expected and kept; from eBGP it is discarded (RFC 7606 §7.5). */
  readonly ibgp: boolean;
}

// ---------------------------------------------------------------------------------------------- encoding

function flagsFor(type: number): number {
  switch (type) {
    case AttrType.Origin:
    case AttrType.AsPath:
    case AttrType.NextHop:
    case AttrType.LocalPref:
    case AttrType.AtomicAggregate:
      return AttrFlag.Transitive;
    case AttrType.MultiExitDisc:
    case AttrType.OriginatorId:
    case AttrType.ClusterList:
    case AttrType.MpReachNlri:
    case AttrType.MpUnreachNlri:
      return AttrFlag.Optional;
    default:
      return AttrFlag.Optional | AttrFlag.Transitive;
  }
}

function writeAttr(w: ByteWriter, type: number, value: Uint8Array, flags = flagsFor(type)): void {
  if (value.length > 255) w.u8(flags | AttrFlag.ExtendedLength).u8(type).u16(value.length);
  else w.u8(flags & ~AttrFlag.ExtendedLength).u8(type).u8(value.length);
  w.bytes(value);
}

function encodeAsPath(segments: readonly AsPathSegment[], four: boolean): Uint8Array {
  const w = new ByteWriter();
  for (const s of segments) {
    // A segment holds at most 255 ASes (RFC 4271 §4.3); longer runs split into consecutive segments.
    for (let i = 0; i < s.asns.length || (i === 0 && s.asns.length === 0); i += 255) {
      const chunk = s.asns.slice(i, i + 255);
      w.u8(s.type).u8(chunk.length);
      for (const a of chunk) four ? w.u32(a) : w.u16(a > 0xffff ? AS_TRANS : a);
      if (s.asns.length === 0) break;
    }
  }
  return w.finish();
}

function ipBytes(text: string, family: 4 | 6 | 'any'): Uint8Array {
  const b = ipToBytes(text);
  if (!b || (family === 4 && b.length !== 4) || (family === 6 && b.length !== 16)) {
    throw new RangeError(`BGP attribute address "${text}" is not an IPv${family === 'any' ? '4/6' : family} address`);
  }
  return b;
}

function u32Value(v: number): Uint8Array {
  return new ByteWriter().u32(v).finish();
}

/** Encodes attributes in type order. On 2-octet sessions, 4-octet ASes become AS_TRANS plus AS4_PATH/AS4_AGGREGATOR. */
export function encodeAttributes(a: PathAttributes, ctx: SessionCodecContext): Uint8Array {
  const w = new ByteWriter();
  if (a.origin !== undefined) writeAttr(w, AttrType.Origin, Uint8Array.of(a.origin));
  if (a.asPath !== undefined) writeAttr(w, AttrType.AsPath, encodeAsPath(a.asPath, ctx.fourOctetAs));
  if (a.nextHop !== undefined) writeAttr(w, AttrType.NextHop, ipBytes(a.nextHop, 4));
  if (a.med !== undefined) writeAttr(w, AttrType.MultiExitDisc, u32Value(a.med));
  if (a.localPref !== undefined) writeAttr(w, AttrType.LocalPref, u32Value(a.localPref));
  if (a.atomicAggregate) writeAttr(w, AttrType.AtomicAggregate, new Uint8Array(0));
  let as4Aggregator = a.as4Aggregator;
  if (a.aggregator !== undefined) {
    const v = new ByteWriter();
    if (ctx.fourOctetAs) v.u32(a.aggregator.asn);
    else {
      v.u16(a.aggregator.asn > 0xffff ? AS_TRANS : a.aggregator.asn);
      if (a.aggregator.asn > 0xffff && !as4Aggregator) as4Aggregator = a.aggregator;
    }
    writeAttr(w, AttrType.Aggregator, v.bytes(ipBytes(a.aggregator.address, 4)).finish());
  }
  if (a.communities !== undefined) {
    const v = new ByteWriter();
    for (const c of a.communities) v.u32(c);
    writeAttr(w, AttrType.Communities, v.finish());
  }
  if (a.originatorId !== undefined) writeAttr(w, AttrType.OriginatorId, ipBytes(a.originatorId, 4));
  if (a.clusterList !== undefined) {
    const v = new ByteWriter();
    for (const c of a.clusterList) v.bytes(ipBytes(c, 4));
    writeAttr(w, AttrType.ClusterList, v.finish());
  }
  if (a.mpReach !== undefined) {
    const m = a.mpReach;
    const v = new ByteWriter().u16(m.afi).u8(m.safi);
    const hops = m.nextHops.map((h) => ipBytes(h, 'any'));
    v.u8(hops.reduce((n, h) => n + h.length, 0));
    for (const h of hops) v.bytes(h);
    v.u8(0); // Reserved (RFC 4760 §3)
    for (const p of m.nlri) encodePrefix(p, v);
    writeAttr(w, AttrType.MpReachNlri, v.finish());
  }
  if (a.mpUnreach !== undefined) {
    const v = new ByteWriter().u16(a.mpUnreach.afi).u8(a.mpUnreach.safi);
    for (const p of a.mpUnreach.withdrawn) encodePrefix(p, v);
    writeAttr(w, AttrType.MpUnreachNlri, v.finish());
  }
  let as4Path = a.as4Path;
  if (!ctx.fourOctetAs && !as4Path && a.asPath?.some((s) => s.asns.some((x) => x > 0xffff))) as4Path = a.asPath;
  if (as4Path !== undefined && !ctx.fourOctetAs) writeAttr(w, AttrType.As4Path, encodeAsPath(as4Path, true));
  if (as4Aggregator !== undefined && !ctx.fourOctetAs) {
    writeAttr(w, AttrType.As4Aggregator, new ByteWriter().u32(as4Aggregator.asn).bytes(ipBytes(as4Aggregator.address, 4)).finish());
  }
  if (a.largeCommunities !== undefined) {
    const v = new ByteWriter();
    for (const c of a.largeCommunities) v.u32(c.global).u32(c.local1).u32(c.local2);
    writeAttr(w, AttrType.LargeCommunity, v.finish());
  }
  for (const u of a.unknown ?? []) writeAttr(w, u.type, u.value, u.flags);
  return w.finish();
}

// ---------------------------------------------------------------------------------------------- decoding

/** RFC 7606 §2 approaches, weakest first. */
export type ErrorAction = 'attributeDiscard' | 'treatAsWithdraw' | 'sessionReset';

export interface AttributeProblem {
  readonly type: number;
  readonly action: ErrorAction;
  readonly reason: string;
  /** For sessionReset: the UPDATE Message Error subcode and data of the NOTIFICATION. */
  readonly subcode?: number;
  readonly data?: Uint8Array;
}

export interface DecodedAttributes {
  readonly attributes: PathAttributes;
  readonly problems: readonly AttributeProblem[];
}

function decodeAsPath(v: Uint8Array, four: boolean): AsPathSegment[] | undefined {
  const size = four ? 4 : 2;
  const out: AsPathSegment[] = [];
  let at = 0;
  while (at < v.length) {
    if (at + 2 > v.length) return undefined;
    const type = v[at]!;
    const count = v[at + 1]!;
    // RFC 7606 §7.2: unknown segment type, zero count or overrun are malformed.
    if (type < 1 || type > 4 || count === 0 || at + 2 + count * size > v.length) return undefined;
    const asns: number[] = [];
    for (let i = 0; i < count; i++) asns.push(four ? readU32(v, at + 2 + i * 4) : readU16(v, at + 2 + i * 2));
    out.push({ type: type as AsPathSegment['type'], asns });
    at += 2 + count * size;
  }
  return out;
}

/**
 * Decodes the Path Attributes field. Never throws: malformed attributes become problems carrying the
 * RFC 7606 approach; the caller picks the strongest one.
 */
export function decodeAttributes(b: Uint8Array, ctx: SessionCodecContext): DecodedAttributes {
  const a: { -readonly [K in keyof PathAttributes]: PathAttributes[K] } = {};
  const unknown: UnknownAttribute[] = [];
  const problems: AttributeProblem[] = [];
  const seen = new Set<number>();
  let at = 0;
  while (at < b.length) {
    const flags = b[at]!;
    const headLen = flags & AttrFlag.ExtendedLength ? 4 : 3;
    // RFC 7606 §4: too few octets for a header, or a length overrunning the field => treat-as-withdraw.
    if (at + headLen > b.length) {
      problems.push({ type: 0, action: 'treatAsWithdraw', reason: 'path attribute header cut short by Total Path Attribute Length' });
      break;
    }
    const type = b[at + 1]!;
    const len = headLen === 4 ? readU16(b, at + 2) : b[at + 2]!;
    if (at + headLen + len > b.length) {
      // The MP attributes locate NLRI: losing them loses the NLRI, so reset (RFC 7606 §5.3, §7.11).
      const mp = type === AttrType.MpReachNlri || type === AttrType.MpUnreachNlri;
      problems.push({
        type,
        action: mp ? 'sessionReset' : 'treatAsWithdraw',
        reason: `attribute ${type} length ${len} exceeds the Total Path Attribute Length`,
        ...(mp ? { subcode: 1 } : {}),
      });
      break;
    }
    const raw = b.subarray(at, at + headLen + len);
    const v = b.subarray(at + headLen, at + headLen + len);
    at += headLen + len;
    if (seen.has(type)) {
      // RFC 7606 §3 g: repeated MP_(UN)REACH is a reset; any other repeat keeps the first occurrence.
      if (type === AttrType.MpReachNlri || type === AttrType.MpUnreachNlri) {
        problems.push({ type, action: 'sessionReset', reason: `attribute ${type} appears twice`, subcode: 1 });
      } else problems.push({ type, action: 'attributeDiscard', reason: `repeated attribute ${type} discarded` });
      continue;
    }
    seen.add(type);
    const expected = flagsFor(type);
    const known = (Object.values(AttrType) as number[]).includes(type);
    // RFC 7606 §3 c: Optional/Transitive bits in conflict with the type => malformed attribute.
    const flagsOk = !known || (flags & 0xc0) === expected;
    const bad = (action: ErrorAction, reason: string, subcode?: number): void => {
      problems.push({ type, action, reason, ...(subcode !== undefined ? { subcode, data: raw.slice() } : {}) });
    };
    switch (type) {
      case AttrType.Origin:
        if (!flagsOk || v.length !== 1 || v[0]! > 2) bad('treatAsWithdraw', 'ORIGIN malformed (RFC 7606 §7.1)');
        else a.origin = v[0]!;
        break;
      case AttrType.AsPath: {
        const p = flagsOk ? decodeAsPath(v, ctx.fourOctetAs) : undefined;
        if (!p) bad('treatAsWithdraw', 'AS_PATH malformed (RFC 7606 §7.2)');
        else a.asPath = p;
        break;
      }
      case AttrType.NextHop:
        if (!flagsOk || v.length !== 4) bad('treatAsWithdraw', 'NEXT_HOP length is not 4 (RFC 7606 §7.3)');
        else a.nextHop = ipFromBytes(v);
        break;
      case AttrType.MultiExitDisc:
        if (!flagsOk || v.length !== 4) bad('treatAsWithdraw', 'MULTI_EXIT_DISC length is not 4 (RFC 7606 §7.4)');
        else a.med = readU32(v, 0);
        break;
      case AttrType.LocalPref:
        if (!ctx.ibgp) bad('attributeDiscard', 'LOCAL_PREF from an external peer discarded (RFC 7606 §7.5)');
        else if (!flagsOk || v.length !== 4) bad('treatAsWithdraw', 'LOCAL_PREF length is not 4 (RFC 7606 §7.5)');
        else a.localPref = readU32(v, 0);
        break;
      case AttrType.AtomicAggregate:
        if (!flagsOk || v.length !== 0) bad('attributeDiscard', 'ATOMIC_AGGREGATE length is not 0 (RFC 7606 §7.6)');
        else a.atomicAggregate = true;
        break;
      case AttrType.Aggregator: {
        const size = ctx.fourOctetAs ? 8 : 6;
        if (!flagsOk || v.length !== size) bad('attributeDiscard', `AGGREGATOR length is not ${size} (RFC 7606 §7.7)`);
        else a.aggregator = { asn: ctx.fourOctetAs ? readU32(v, 0) : readU16(v, 0), address: ipFromBytes(v.subarray(size - 4)) };
        break;
      }
      case AttrType.Communities:
        if (!flagsOk || v.length === 0 || v.length % 4 !== 0) bad('treatAsWithdraw', 'COMMUNITIES length is not a positive multiple of 4 (RFC 7606 §7.8)');
        else a.communities = Array.from({ length: v.length / 4 }, (_, i) => readU32(v, i * 4));
        break;
      case AttrType.OriginatorId:
        if (!flagsOk || v.length !== 4) bad('treatAsWithdraw', 'ORIGINATOR_ID length is not 4 (RFC 7606 §7.9)');
        else a.originatorId = ipFromBytes(v);
        break;
      case AttrType.ClusterList:
        if (!flagsOk || v.length === 0 || v.length % 4 !== 0) bad('treatAsWithdraw', 'CLUSTER_LIST length is not a multiple of 4 (RFC 7606 §7.10)');
        else a.clusterList = Array.from({ length: v.length / 4 }, (_, i) => ipFromBytes(v.subarray(i * 4, i * 4 + 4)));
        break;
      case AttrType.MpReachNlri: {
        const m = flagsOk ? decodeMpReach(v) : 'malformed';
        if (m === 'malformed') bad('sessionReset', 'MP_REACH_NLRI malformed (RFC 7606 §7.11)', 9);
        else if (m === 'unsupported') unknown.push({ flags, type, value: v.slice() });
        else a.mpReach = m;
        break;
      }
      case AttrType.MpUnreachNlri: {
        const m = flagsOk ? decodeMpUnreach(v) : 'malformed';
        if (m === 'malformed') bad('sessionReset', 'MP_UNREACH_NLRI malformed (RFC 7606 §7.11)', 9);
        else if (m === 'unsupported') unknown.push({ flags, type, value: v.slice() });
        else a.mpUnreach = m;
        break;
      }
      case AttrType.As4Path: {
        // RFC 6793 §6: a malformed AS4_PATH is discarded; on 4-octet sessions it must be ignored anyway.
        const p = flagsOk ? decodeAsPath(v, true) : undefined;
        if (!p || p.some((s) => s.type > 2)) bad('attributeDiscard', 'AS4_PATH malformed (RFC 6793 §6)');
        else if (!ctx.fourOctetAs) a.as4Path = p;
        break;
      }
      case AttrType.As4Aggregator:
        if (!flagsOk || v.length !== 8) bad('attributeDiscard', 'AS4_AGGREGATOR length is not 8 (RFC 6793 §6)');
        else if (!ctx.fourOctetAs) a.as4Aggregator = { asn: readU32(v, 0), address: ipFromBytes(v.subarray(4)) };
        break;
      case AttrType.LargeCommunity:
        if (!flagsOk || v.length === 0 || v.length % 12 !== 0) bad('treatAsWithdraw', 'LARGE_COMMUNITY length is not a positive multiple of 12 (RFC 8092 §6)');
        else {
          a.largeCommunities = Array.from({ length: v.length / 12 }, (_, i) => ({
            global: readU32(v, i * 12),
            local1: readU32(v, i * 12 + 4),
            local2: readU32(v, i * 12 + 8),
          }));
        }
        break;
      default:
        // RFC 4271 §6.3: an unrecognised well-known attribute is a session error.
        if (!(flags & AttrFlag.Optional)) bad('sessionReset', `unrecognised well-known attribute ${type}`, 2);
        else unknown.push({ flags, type, value: v.slice() });
    }
  }
  if (unknown.length) a.unknown = unknown;
  return { attributes: a, problems };
}

function familyOf(afi: number, safi: number): 4 | 6 | undefined {
  if (safi !== Safi.Unicast) return undefined;
  return afi === Afi.Ipv4 ? 4 : afi === Afi.Ipv6 ? 6 : undefined;
}

function decodeMpReach(v: Uint8Array): MpReach | 'malformed' | 'unsupported' {
  if (v.length < 5) return 'malformed';
  const afi = readU16(v, 0);
  const safi = v[2]!;
  const family = familyOf(afi, safi);
  if (!family) return 'unsupported';
  const nhLen = v[3]!;
  if (5 + nhLen > v.length) return 'malformed';
  const nh = v.subarray(4, 4 + nhLen);
  let nextHops: string[];
  if (family === 6 && nhLen === 16) nextHops = [ipFromBytes(nh)];
  else if (family === 6 && nhLen === 32) nextHops = [ipFromBytes(nh.subarray(0, 16)), ipFromBytes(nh.subarray(16))];
  else if (family === 4 && nhLen === 4) nextHops = [ipFromBytes(nh)];
  else return 'malformed';
  const nlri = decodePrefixes(v.subarray(5 + nhLen), family);
  return nlri ? { afi, safi, nextHops, nlri } : 'malformed';
}

function decodeMpUnreach(v: Uint8Array): MpUnreach | 'malformed' | 'unsupported' {
  if (v.length < 3) return 'malformed';
  const afi = readU16(v, 0);
  const safi = v[2]!;
  const family = familyOf(afi, safi);
  if (!family) return 'unsupported';
  const withdrawn = decodePrefixes(v.subarray(3), family);
  return withdrawn ? { afi, safi, withdrawn } : 'malformed';
}

/** RFC 6793 §4.2.3: the AS path of a route learnt on a 2-octet session, merged with AS4_PATH. */
export function effectiveAsPath(a: PathAttributes): readonly AsPathSegment[] {
  const path = a.asPath ?? [];
  if (!a.as4Path) return path;
  const count = (segs: readonly AsPathSegment[]) => segs.reduce((n, s) => n + (s.type === 1 ? 1 : s.type === 2 ? s.asns.length : 0), 0);
  const keep = count(path) - count(a.as4Path);
  if (keep < 0) return path; // AS4_PATH longer than AS_PATH: ignore it.
  const out: AsPathSegment[] = [];
  let left = keep;
  for (const s of path) {
    if (left <= 0) break;
    if (s.type === 2) {
      const take = s.asns.slice(0, left);
      out.push({ type: 2, asns: take });
      left -= take.length;
    } else {
      out.push(s);
      if (s.type === 1) left -= 1;
    }
  }
  return [...out, ...a.as4Path];
}
