// Address math for the whole project: one place that turns text into numbers and back.
// IPs are bigint so that IPv4 and IPv6 (up to /0) share the same range arithmetic.
import ipaddr from 'ipaddr.js';

export type Family = 4 | 6;

/** An inclusive block of addresses of one family, always CIDR-aligned. */
export interface Cidr {
  readonly family: Family;
  readonly first: bigint;
  readonly last: bigint;
  readonly prefix: number;
}

const BITS: Record<Family, number> = { 4: 32, 6: 128 };

export function familyBits(family: Family): number {
  return BITS[family];
}

/**
 * Speakers parse every Service IP on every pass (1,000 IPv6 VIPs cost ~10 ms a pass in ipaddr.js),
 * so results are memoised; the cache is dropped whole when it grows past its bound.
 */
const PARSE_CACHE_LIMIT = 50_000;
const parsedIps = new Map<string, Readonly<{ family: Family; value: bigint }> | null>();
const canonicalIps = new Map<string, string | null>();

/** Parses an IP literal (no zone, no prefix). Returns undefined when it is not one. */
export function parseIp(text: string): Readonly<{ family: Family; value: bigint }> | undefined {
  const hit = parsedIps.get(text);
  if (hit !== undefined) return hit ?? undefined;
  const parsed = parseIpUncached(text);
  if (parsedIps.size >= PARSE_CACHE_LIMIT) parsedIps.clear();
  parsedIps.set(text, parsed ? Object.freeze(parsed) : null);
  return parsed;
}

function parseIpUncached(text: string): { family: Family; value: bigint } | undefined {
  const s = text.trim();
  if (s === '' || s.includes('/') || s.includes('%')) return undefined;
  // ipaddr.isValid accepts "1" or "0x1"; MetalLB (Go net.ParseIP) accepts only dotted quads.
  // The colon test comes first: ipaddr's IPv4 check throws and catches internally for an IPv6
  // text, which made parsing 1,000 IPv6 VIPs cost ~200 ms per speaker pass.
  if (!s.includes(':') && ipaddr.IPv4.isValidFourPartDecimal(s)) {
    const bytes = ipaddr.IPv4.parse(s).toByteArray();
    return { family: 4, value: bytesToBigint(bytes) };
  }
  if (s.includes(':') && ipaddr.IPv6.isValid(s)) {
    const addr = ipaddr.IPv6.parse(s);
    // An IPv4-mapped IPv6 address is an IPv4 address for Go's net.ParseIP.
    if (addr.isIPv4MappedAddress()) return { family: 4, value: bytesToBigint(addr.toIPv4Address().toByteArray()) };
    return { family: 6, value: bytesToBigint(addr.toByteArray()) };
  }
  return undefined;
}

export function formatIp(family: Family, value: bigint): string {
  const bytes = bigintToBytes(value, family === 4 ? 4 : 16);
  if (family === 4) return bytes.join('.');
  return ipaddr.fromByteArray(bytes).toString();
}

/** Canonical text of an IP (e.g. "2001:db8::1" for "2001:0db8:0::1"); undefined if not an IP. */
export function canonicalIp(text: string): string | undefined {
  const hit = canonicalIps.get(text);
  if (hit !== undefined) return hit ?? undefined;
  const ip = parseIp(text);
  const canonical = ip ? formatIp(ip.family, ip.value) : undefined;
  if (canonicalIps.size >= PARSE_CACHE_LIMIT) canonicalIps.clear();
  canonicalIps.set(text, canonical ?? null);
  return canonical;
}

export function ipFamily(text: string): Family | undefined {
  return parseIp(text)?.family;
}

/**
 * Parses "a.b.c.d/n" like Go's net.ParseCIDR: host bits are masked away, so "10.0.0.5/24" is
 * the whole 10.0.0.0/24 (MetalLB behaviour).
 */
export function parseCidr(text: string): Cidr | undefined {
  const s = text.trim();
  const slash = s.indexOf('/');
  if (slash < 0) return undefined;
  const ip = parseIp(s.slice(0, slash));
  const prefixText = s.slice(slash + 1);
  if (!ip || !/^\d{1,3}$/.test(prefixText)) return undefined;
  const prefix = Number(prefixText);
  if (prefix > BITS[ip.family]) return undefined;
  return cidrOf(ip.family, ip.value, prefix);
}

export function cidrOf(family: Family, value: bigint, prefix: number): Cidr {
  const hostBits = BigInt(BITS[family] - prefix);
  const size = 1n << hostBits;
  const first = (value >> hostBits) << hostBits;
  return { family, first, last: first + size - 1n, prefix };
}

export function formatCidr(c: Cidr): string {
  return `${formatIp(c.family, c.first)}/${c.prefix}`;
}

export function cidrSize(c: Cidr): bigint {
  return c.last - c.first + 1n;
}

export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  return a.family === b.family && a.first <= b.last && b.first <= a.last;
}

export function cidrContains(c: Cidr, family: Family, value: bigint): boolean {
  return c.family === family && value >= c.first && value <= c.last;
}

/** Splits an inclusive range into the minimal ascending list of CIDRs that covers it exactly. */
export function rangeToCidrs(family: Family, first: bigint, last: bigint): Cidr[] {
  const bits = BITS[family];
  const out: Cidr[] = [];
  let cur = first;
  while (cur <= last) {
    // Largest aligned block starting at cur that does not pass last.
    let hostBits = 0;
    while (hostBits < bits) {
      const next = hostBits + 1;
      const size = 1n << BigInt(next);
      if (cur % size !== 0n || cur + size - 1n > last) break;
      hostBits = next;
    }
    out.push(cidrOf(family, cur, bits - hostBits));
    cur += 1n << BigInt(hostBits);
  }
  return out;
}

export type AddressEntryResult = { ok: true; cidrs: Cidr[] } | { ok: false; reason: string };

/**
 * One entry of IPAddressPool.spec.addresses: a CIDR or an "A-B" range (spaces around the dash
 * allowed). A bare IP is not accepted (MetalLB: write it as x/32, x/128 or x-x).
 */
export function parseAddressEntry(entry: string): AddressEntryResult {
  const s = entry.trim();
  if (s.includes('/')) {
    const c = parseCidr(s);
    if (!c) return { ok: false, reason: `invalid CIDR "${entry}"` };
    return { ok: true, cidrs: [c] };
  }
  const dash = s.indexOf('-');
  if (dash < 0) {
    return { ok: false, reason: `invalid CIDR "${entry}": a single address must be written as a CIDR (x/32, x/128) or a range (x-x)` };
  }
  const a = parseIp(s.slice(0, dash));
  const b = parseIp(s.slice(dash + 1));
  if (!a) return { ok: false, reason: `invalid IP range "${entry}": invalid start IP "${s.slice(0, dash).trim()}"` };
  if (!b) return { ok: false, reason: `invalid IP range "${entry}": invalid end IP "${s.slice(dash + 1).trim()}"` };
  if (a.family !== b.family) return { ok: false, reason: `invalid IP range "${entry}": start and end are of different IP families` };
  if (a.value > b.value) {
    return { ok: false, reason: `invalid IP range "${entry}": start IP "${formatIp(a.family, a.value)}" is after the end IP "${formatIp(b.family, b.value)}"` };
  }
  return { ok: true, cidrs: rangeToCidrs(a.family, a.value, b.value) };
}

/** The v4 "buggy" addresses MetalLB avoids when asked: last octet 0 or 255. */
export function isBuggyIPv4(family: Family, value: bigint): boolean {
  if (family !== 4) return false;
  const last = value & 0xffn;
  return last === 0n || last === 255n;
}

function bytesToBigint(bytes: number[]): bigint {
  let v = 0n;
  for (const b of bytes) v = (v << 8n) | BigInt(b);
  return v;
}

function bigintToBytes(value: bigint, length: number): number[] {
  const out = new Array<number>(length);
  let v = value;
  for (let i = length - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

/** Network-order bytes of an IP (4 or 16); undefined when `text` is not an IP. For wire codecs. */
export function ipToBytes(text: string): Uint8Array | undefined {
  const ip = parseIp(text);
  return ip ? Uint8Array.from(bigintToBytes(ip.value, ip.family === 4 ? 4 : 16)) : undefined;
}

/** Canonical text of a 4- or 16-byte network-order address (as canonicalIp would print it). */
export function ipFromBytes(bytes: Uint8Array): string {
  if (bytes.length === 4) return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
  if (bytes.length !== 16) throw new RangeError(`an IP address has 4 or 16 bytes, not ${bytes.length}`);
  return formatIp(6, bytesToBigint(Array.from(bytes)));
}
