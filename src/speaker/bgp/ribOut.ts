// Our outbound RIB: turns the desired prefix set of a session into as few UPDATEs as fit in 4096 bytes.
import type { Community } from '../../config/model.js';
import { Origin, type LargeCommunity, type PathAttributes, type SessionCodecContext } from './codec/attributes.js';
import { Afi, Safi, type AfiSafi } from './codec/capabilities.js';
import { encodeMessage, endOfRib, MAX_MESSAGE_LENGTH, type UpdateMessage } from './codec/messages.js';
import { prefixFamily, prefixWireLength, type Prefix } from './codec/nlri.js';

/** What we advertise for one prefix (MetalLB 4.9: LOCAL_PREF and communities of the matching advertisements). */
export interface AdvertisedRoute {
  readonly localPref?: number;
  readonly communities: readonly Community[];
}

/** Desired routes of one session, keyed by canonical CIDR. */
export type DesiredRib = ReadonlyMap<Prefix, AdvertisedRoute>;

export interface RibOutSession {
  readonly localAs: number;
  /** Families both sides negotiated (Negotiated.families). */
  readonly families: readonly AfiSafi[];
  readonly fourOctetAs: boolean;
  /** NEXT_HOP for IPv4 routes: our address on the session. */
  readonly nextHopV4?: string;
  /** Global IPv6 next hop, and optionally our link-local one (RFC 2545 §3). */
  readonly nextHopV6?: string;
  readonly nextHopV6LinkLocal?: string;
}

export interface BuiltUpdates {
  readonly messages: readonly Uint8Array[];
  /** Prefixes left out: family not negotiated or no next hop of that family. */
  readonly unsent: readonly Prefix[];
}

/** iBGP LOCAL_PREF when no advertisement sets one: the common router default (MetalLB native sends 0 instead). */
export const DEFAULT_LOCAL_PREF = 100;

function hasFamily(s: RibOutSession, family: 4 | 6): boolean {
  const afi = family === 4 ? Afi.Ipv4 : Afi.Ipv6;
  return s.families.some((f) => f.afi === afi && f.safi === Safi.Unicast) && (family === 4 ? !!s.nextHopV4 : !!s.nextHopV6);
}

function routeKey(r: AdvertisedRoute): string {
  const std = r.communities.filter((c) => c.kind === 'standard').map((c) => c.value).sort((a, b) => a - b);
  const large = r.communities
    .filter((c): c is Extract<Community, { kind: 'large' }> => c.kind === 'large')
    .map((c) => `${c.global}:${c.local1}:${c.local2}`)
    .sort();
  return `${r.localPref ?? ''}|${std.join(',')}|${large.join(',')}`;
}

function attributesFor(r: AdvertisedRoute, s: RibOutSession, family: 4 | 6, ibgp: boolean): PathAttributes {
  const std = [...new Set(r.communities.filter((c) => c.kind === 'standard').map((c) => c.value))].sort((a, b) => a - b);
  const large: LargeCommunity[] = r.communities
    .filter((c): c is Extract<Community, { kind: 'large' }> => c.kind === 'large')
    .map((c) => ({ global: c.global, local1: c.local1, local2: c.local2 }))
    .sort((a, b) => a.global - b.global || a.local1 - b.local1 || a.local2 - b.local2);
  return {
    origin: Origin.Igp,
    // RFC 4271 §5.1.2: empty to internal peers, our AS prepended to external ones.
    asPath: ibgp ? [] : [{ type: 2, asns: [s.localAs] }],
    ...(family === 4 ? { nextHop: s.nextHopV4! } : {}),
    // RFC 4271 §5.1.5: LOCAL_PREF only to internal peers.
    ...(ibgp ? { localPref: r.localPref ?? DEFAULT_LOCAL_PREF } : {}),
    ...(std.length ? { communities: std } : {}),
    ...(large.length ? { largeCommunities: large } : {}),
  };
}

function encodedLength(m: UpdateMessage, ctx: SessionCodecContext): number {
  return encodeMessage(m, ctx).length;
}

/** Greedy packing: `make(chunk)` builds the message; fill each chunk until the next prefix would not fit. */
function pack(prefixes: readonly Prefix[], make: (chunk: Prefix[]) => UpdateMessage, ctx: SessionCodecContext): Uint8Array[] {
  const out: Uint8Array[] = [];
  if (prefixes.length === 0) return out;
  // +1: an attribute whose value outgrows 255 octets needs the extended length octet.
  const overhead = encodedLength(make([]), ctx) + 1;
  let chunk: Prefix[] = [];
  let size = overhead;
  for (const p of prefixes) {
    const len = prefixWireLength(p);
    if (chunk.length && size + len > MAX_MESSAGE_LENGTH) {
      out.push(encodeMessage(make(chunk), ctx));
      chunk = [];
      size = overhead;
    }
    chunk.push(p);
    size += len;
  }
  out.push(encodeMessage(make(chunk), ctx));
  return out;
}

/**
 * UPDATEs that move the peer from `prev` to `next`: withdrawals for prefixes that left, announcements for new or
 * changed ones, prefixes with equal attributes packed together. IPv4 uses the classic fields, IPv6 MP_(UN)REACH_NLRI.
 */
export function buildUpdates(prev: DesiredRib, next: DesiredRib, session: RibOutSession, peerIsIbgp: boolean): BuiltUpdates {
  const ctx: SessionCodecContext = { fourOctetAs: session.fourOctetAs, ibgp: peerIsIbgp };
  const unsent: Prefix[] = [];
  const withdraw: Record<4 | 6, Prefix[]> = { 4: [], 6: [] };
  const announce = new Map<string, { family: 4 | 6; route: AdvertisedRoute; prefixes: Prefix[] }>();
  for (const p of [...prev.keys()].sort()) {
    const fam = prefixFamily(p);
    if (!next.has(p) && hasFamily(session, fam)) withdraw[fam].push(p);
  }
  for (const [p, route] of [...next].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const fam = prefixFamily(p);
    if (!hasFamily(session, fam)) {
      unsent.push(p);
      continue;
    }
    const before = prev.get(p);
    if (before && routeKey(before) === routeKey(route)) continue;
    const key = `${fam}|${routeKey(route)}`;
    const group = announce.get(key) ?? { family: fam, route, prefixes: [] };
    group.prefixes.push(p);
    announce.set(key, group);
  }
  const messages: Uint8Array[] = [];
  messages.push(...pack(withdraw[4], (c) => ({ type: 'update', withdrawn: c, attributes: {}, nlri: [] }), ctx));
  messages.push(
    ...pack(withdraw[6], (c) => ({ type: 'update', withdrawn: [], attributes: { mpUnreach: { afi: Afi.Ipv6, safi: Safi.Unicast, withdrawn: c } }, nlri: [] }), ctx),
  );
  for (const g of announce.values()) {
    const attrs = attributesFor(g.route, session, g.family, peerIsIbgp);
    if (g.family === 4) {
      messages.push(...pack(g.prefixes, (c) => ({ type: 'update', withdrawn: [], attributes: attrs, nlri: c }), ctx));
    } else {
      const nextHops = [session.nextHopV6!, ...(session.nextHopV6LinkLocal ? [session.nextHopV6LinkLocal] : [])];
      messages.push(
        ...pack(g.prefixes, (c) => ({ type: 'update', withdrawn: [], attributes: { ...attrs, mpReach: { afi: Afi.Ipv6, safi: Safi.Unicast, nextHops, nlri: c } }, nlri: [] }), ctx),
      );
    }
  }
  return { messages, unsent };
}

/** After Established: the whole desired RIB, then End-of-RIB for every negotiated family (RFC 4724 §2). */
export function initialUpdates(next: DesiredRib, session: RibOutSession, peerIsIbgp: boolean): BuiltUpdates {
  const built = buildUpdates(new Map(), next, session, peerIsIbgp);
  const ctx: SessionCodecContext = { fourOctetAs: session.fourOctetAs, ibgp: peerIsIbgp };
  const eor = session.families.map((f) => encodeMessage(endOfRib(f.afi, f.safi), ctx));
  return { messages: [...built.messages, ...eor], unsent: built.unsent };
}

