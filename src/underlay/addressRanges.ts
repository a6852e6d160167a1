// Sorted, merged inclusive address ranges of one or both families: the set algebra the
// underlay checks need (pool minus excludeIps, pool minus reserved addresses, ...).
import { formatIp, type Cidr, type Family } from '../net/address.js';

export interface AddressRange {
  readonly family: Family;
  readonly first: bigint;
  readonly last: bigint;
}

function compare(a: AddressRange, b: AddressRange): number {
  if (a.family !== b.family) return a.family - b.family;
  return a.first < b.first ? -1 : a.first > b.first ? 1 : 0;
}

/** Sorted (IPv4 first), overlapping and adjacent ranges merged, empty ranges dropped. */
export function normalizeRanges(ranges: readonly AddressRange[]): AddressRange[] {
  const sorted = ranges.filter((r) => r.first <= r.last).sort(compare);
  const out: AddressRange[] = [];
  for (const r of sorted) {
    const prev = out[out.length - 1];
    if (prev && prev.family === r.family && r.first <= prev.last + 1n) {
      if (r.last > prev.last) out[out.length - 1] = { family: r.family, first: prev.first, last: r.last };
    } else {
      out.push({ family: r.family, first: r.first, last: r.last });
    }
  }
  return out;
}

/** The addresses of `from` that are not in `remove`. */
export function subtractRanges(from: readonly AddressRange[], remove: readonly AddressRange[]): AddressRange[] {
  const cut = normalizeRanges(remove);
  const out: AddressRange[] = [];
  for (const r of normalizeRanges(from)) {
    let cur = r.first;
    for (const c of cut) {
      if (c.family !== r.family || c.last < cur || c.first > r.last) continue;
      if (c.first > cur) out.push({ family: r.family, first: cur, last: c.first - 1n });
      cur = c.last + 1n;
      if (cur > r.last) break;
    }
    if (cur <= r.last) out.push({ family: r.family, first: cur, last: r.last });
  }
  return out;
}

/** The addresses in both. */
export function intersectRanges(a: readonly AddressRange[], b: readonly AddressRange[]): AddressRange[] {
  const nb = normalizeRanges(b);
  const out: AddressRange[] = [];
  for (const r of normalizeRanges(a)) {
    for (const s of nb) {
      if (s.family !== r.family) continue;
      const first = r.first > s.first ? r.first : s.first;
      const last = r.last < s.last ? r.last : s.last;
      if (first <= last) out.push({ family: r.family, first, last });
    }
  }
  return normalizeRanges(out);
}

export function rangeContains(r: AddressRange, family: Family, value: bigint): boolean {
  return r.family === family && value >= r.first && value <= r.last;
}

export function rangesContain(ranges: readonly AddressRange[], family: Family, value: bigint): boolean {
  return ranges.some((r) => rangeContains(r, family, value));
}

export function rangeOfCidr(c: Cidr): AddressRange {
  return { family: c.family, first: c.first, last: c.last };
}

/** "a-b", or "a" for a single address (pool syntax, for messages). */
export function formatRange(r: AddressRange): string {
  return r.first === r.last ? formatIp(r.family, r.first) : `${formatIp(r.family, r.first)}-${formatIp(r.family, r.last)}`;
}

/** Kube-OVN excludeIps syntax: "a..b", or "a" for a single address. */
export function formatKubeOvnRange(r: AddressRange): string {
  return r.first === r.last ? formatIp(r.family, r.first) : `${formatIp(r.family, r.first)}..${formatIp(r.family, r.last)}`;
}
