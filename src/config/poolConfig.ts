// IPAddressPool objects -> Pool models, with MetalLB's cross-pool rule: no CIDR may overlap any
// other CIDR of any pool, including another entry of the same pool (`poolsFor`).
import { cidrsOverlap, formatCidr, parseAddressEntry, type Cidr } from '../net/address.js';
import type { Pool, ServiceAllocation } from './model.js';
import type { ParsedObject } from './parsedObject.js';
import type { ConfigProblems } from './problems.js';
import { toLabelSelector, type IPAddressPoolSpec } from './schemas.js';

interface EntryCidrs {
  readonly pool: string;
  readonly entry: string;
  readonly cidrs: readonly Cidr[];
}

function describeEntry(entry: string, cidr: Cidr): string {
  const text = formatCidr(cidr);
  return entry.trim() === text ? `CIDR "${text}"` : `CIDR "${text}" (from "${entry}")`;
}

/** The name and address entries of a raw pool object, as far as they can be read. */
function rawPoolEntries(raw: unknown, index: number): { name: string; entries: unknown[] } {
  const r = raw as { metadata?: { name?: unknown }; spec?: { addresses?: unknown } } | null;
  const name = typeof r?.metadata?.name === 'string' && r.metadata.name !== '' ? r.metadata.name : `#${index}`;
  const entries = Array.isArray(r?.spec?.addresses) ? r.spec.addresses : [];
  return { name, entries };
}

/**
 * Overlap check over every readable address entry of every pool, including pools that have other
 * errors, so one run reports all overlaps. Each pair of overlapping entries is reported once, on
 * the later entry.
 */
export function checkPoolOverlaps(rawPools: readonly unknown[], problems: ConfigProblems): void {
  const seen: EntryCidrs[] = [];
  rawPools.forEach((raw, index) => {
    const { name, entries } = rawPoolEntries(raw, index);
    entries.forEach((entry, i) => {
      if (typeof entry !== 'string') return;
      const parsed = parseAddressEntry(entry);
      if (!parsed.ok) return; // reported by the schema
      for (const other of seen) {
        const clash = parsed.cidrs.flatMap((a) => other.cidrs.filter((b) => cidrsOverlap(a, b)).map((b) => [a, b] as const))[0];
        if (!clash) continue;
        const [mine, theirs] = clash;
        const where = other.pool === name ? 'earlier in the same pool' : `in pool "${other.pool}"`;
        problems.error(
          { kind: 'IPAddressPool', name },
          `spec.addresses[${i}]`,
          `${describeEntry(entry, mine)} overlaps with ${describeEntry(other.entry, theirs)} ${where}; make the pools' address ranges disjoint`,
        );
      }
      seen.push({ pool: name, entry, cidrs: parsed.cidrs });
    });
  });
}

export function buildPools(objects: readonly ParsedObject<IPAddressPoolSpec>[]): Pool[] {
  return objects.map((obj) => {
    const spec = obj.spec;
    const cidrs = spec.addresses.flatMap((entry) => {
      const parsed = parseAddressEntry(entry);
      return parsed.ok ? parsed.cidrs : [];
    });
    const sa = spec.serviceAllocation;
    const serviceAllocation: ServiceAllocation | undefined = sa && {
      priority: sa.priority ?? 0,
      namespaces: [...(sa.namespaces ?? [])],
      namespaceSelectors: (sa.namespaceSelectors ?? []).map(toLabelSelector),
      serviceSelectors: (sa.serviceSelectors ?? []).map(toLabelSelector),
    };
    return {
      name: obj.ref.name,
      labels: { ...obj.labels },
      cidrs,
      addresses: [...spec.addresses],
      autoAssign: spec.autoAssign ?? true,
      avoidBuggyIPs: spec.avoidBuggyIPs ?? false,
      ...(serviceAllocation ? { serviceAllocation } : {}),
    };
  });
}
