// Kube-OVN's reading of Subnet.spec.excludeIps and of the subnet's own CIDRs and gateways
// (spec kube-ovn-underlay.md 1.1, 1.3, 6.1), reproduced exactly: entries are "ip" or "a..b"
// (two dots; no CIDR, no dash), one list for both families; a range whose ends differ in family
// is dropped; a range is clamped to the usable part [network+1, network+2^h-2] of the CIDR of
// its family; a single IP outside the CIDR or equal to its network or last address is dropped;
// the gateway(s) are always excluded.
import { parseCidr, parseIp, type Cidr, type Family } from '../net/address.js';
import { normalizeRanges, type AddressRange } from './addressRanges.js';

export type ExcludeEntry =
  | { readonly ok: true; readonly entry: string; readonly range: AddressRange }
  | { readonly ok: false; readonly entry: string; readonly reason: string };

/**
 * One excludeIps entry as Kube-OVN's validator reads it (ValidateSubnet): an IP or "a..b" with
 * at most one "..", start <= end, no uppercase letters (IPv6 must be lowercase).
 */
export function parseExcludeEntry(entry: string): ExcludeEntry {
  const text = entry.trim();
  if (text !== text.toLowerCase()) return { ok: false, entry, reason: `"${entry}" has uppercase letters; Kube-OVN requires lowercase IPv6 text` };
  const parts = text.split('..');
  if (parts.length > 2) return { ok: false, entry, reason: `"${entry}" has more than one ".."` };
  const a = parseIp(parts[0] ?? '');
  const b = parts.length === 2 ? parseIp(parts[1] ?? '') : a;
  if (!a || !b) return { ok: false, entry, reason: `"${entry}" is neither an IP nor an "a..b" range` };
  if (a.family !== b.family) return { ok: false, entry, reason: `"${entry}": the two ends are of different IP families` };
  if (a.value > b.value) return { ok: false, entry, reason: `"${entry}": the start is after the end` };
  return { ok: true, entry, range: { family: a.family, first: a.value, last: b.value } };
}

/** The part of a CIDR Kube-OVN IPAM hands out: [network+1, network+2^h-2] (IPv6 too). */
export function usableRange(c: Cidr): AddressRange | undefined {
  const first = c.first + 1n;
  const last = c.last - 1n;
  return first <= last ? { family: c.family, first, last } : undefined;
}

/**
 * Subnet.spec.cidrBlock: one CIDR or "v4,v6" (comma, either order). Returns one CIDR per family
 * (split by family, not by position) or undefined when the text is not that.
 */
export function parseCidrBlock(text: string): Partial<Record<Family, Cidr>> | undefined {
  const out: Partial<Record<Family, Cidr>> = {};
  const parts = text.split(',').map((p) => p.trim()).filter((p) => p !== '');
  if (parts.length === 0 || parts.length > 2) return undefined;
  for (const p of parts) {
    const c = parseCidr(p);
    if (!c || out[c.family]) return undefined;
    out[c.family] = c;
  }
  return out;
}

/**
 * The gateways Kube-OVN uses: spec.gateway ("ip" or "v4,v6"); a family without one gets the
 * first address of its CIDR (GetGwByCidr / AppendGwByCidr).
 */
export function effectiveGateways(cidrs: Partial<Record<Family, Cidr>>, gateway: string): { family: Family; value: bigint }[] {
  const given = new Map<Family, bigint>();
  for (const part of gateway.split(',')) {
    const ip = parseIp(part.trim());
    if (ip && !given.has(ip.family)) given.set(ip.family, ip.value);
  }
  const out: { family: Family; value: bigint }[] = [];
  for (const family of [4, 6] as const) {
    const c = cidrs[family];
    if (!c) continue;
    out.push({ family, value: given.get(family) ?? c.first + 1n });
  }
  return out;
}

/**
 * util.ExpandExcludeIPs plus the always-excluded gateways: the addresses Kube-OVN's dynamic
 * allocation never returns, as merged ranges. `ignored` lists entries Kube-OVN drops.
 */
export function effectiveExcludes(
  excludeIps: readonly string[],
  cidrs: Partial<Record<Family, Cidr>>,
  gateways: readonly { family: Family; value: bigint }[],
): { ranges: AddressRange[]; ignored: ExcludeEntry[] } {
  const ranges: AddressRange[] = [];
  const ignored: ExcludeEntry[] = [];
  for (const raw of excludeIps) {
    const e = parseExcludeEntry(raw);
    if (!e.ok) {
      ignored.push(e);
      continue;
    }
    const c = cidrs[e.range.family];
    const usable = c && usableRange(c);
    if (!c || !usable) {
      ignored.push({ ok: false, entry: raw, reason: `"${raw}": the subnet has no usable IPv${e.range.family} CIDR` });
      continue;
    }
    if (e.range.first === e.range.last && !raw.includes('..')) {
      // A single IP is kept only inside the usable range (not network, not last address).
      if (e.range.first < usable.first || e.range.first > usable.last) {
        ignored.push({ ok: false, entry: raw, reason: `"${raw}" is outside the usable range of the subnet's CIDR` });
        continue;
      }
      ranges.push(e.range);
      continue;
    }
    const first = e.range.first > usable.first ? e.range.first : usable.first;
    const last = e.range.last < usable.last ? e.range.last : usable.last;
    if (first > last) {
      ignored.push({ ok: false, entry: raw, reason: `"${raw}" does not overlap the usable range of the subnet's CIDR` });
      continue;
    }
    ranges.push({ family: e.range.family, first, last });
  }
  for (const g of gateways) ranges.push({ family: g.family, first: g.value, last: g.value });
  return { ranges: normalizeRanges(ranges), ignored };
}
