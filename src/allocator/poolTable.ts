// The current IPAddressPools as the allocator sees them: every CIDR with its used addresses,
// an index from address to owning CIDR, per-pool counters, and the two pool orders used by
// automatic allocation (spec 3.2 steps 2-3).
import type { Pool } from '../config/model.js';
import { selectorMatches } from '../config/labelSelector.js';
import { familyBits, formatCidr, type Family } from '../net/address.js';
import { CidrSlots } from './cidrSlots.js';
import { RunSet } from './runSet.js';
import type { ServiceFacts } from './types.js';

/** MetalLB reports pool sizes as int64 and counts CIDRs with >= 62 host bits as MaxInt64 (3.7). */
export const MAX_INT64 = (1n << 63n) - 1n;
const HUGE_HOST_BITS = 62;

export interface PoolState {
  readonly name: string;
  readonly pool: Pool;
  /** The pool's CIDRs in spec.addresses order (the walk order). */
  readonly ranges: readonly AddressRange[];
  readonly capacity: Readonly<Record<Family, bigint>>;
  /** Distinct addresses in use per family (a shared address counts once). */
  readonly inUse: Record<Family, number>;
}

export interface AddressRange {
  readonly pool: PoolState;
  readonly slots: CidrSlots;
  /** Slots of the addresses in use. */
  used: RunSet;
}

export class PoolTable {
  readonly byName: ReadonlyMap<string, PoolState>;
  /**
   * Pools with a serviceAllocation, in MetalLB's priority order: positive priorities ascending,
   * then priority 0. MetalLB leaves ties unordered; we break them by pool name so that the same
   * config always gives the same IPs.
   */
  readonly pinnedOrder: readonly PoolState[];
  /**
   * Fallback pools: autoAssign and no serviceAllocation. MetalLB iterates them in Go map order
   * (random per run); we use pool-name order instead.
   */
  readonly fallbackOrder: readonly PoolState[];
  private readonly rangesByFamily: Record<Family, AddressRange[]> = { 4: [], 6: [] };

  /** Throws when two CIDRs overlap: the config parser rejects that (spec 1.1), so it is a bug upstream. */
  constructor(pools: ReadonlyMap<string, Pool>) {
    const byName = new Map<string, PoolState>();
    for (const [name, pool] of pools) {
      const ranges: AddressRange[] = [];
      const capacity: Record<Family, bigint> = { 4: 0n, 6: 0n };
      const state: PoolState = { name, pool, ranges, capacity, inUse: { 4: 0, 6: 0 } };
      for (const cidr of pool.cidrs) {
        const slots = new CidrSlots(cidr, pool.avoidBuggyIPs);
        const range: AddressRange = { pool: state, slots, used: new RunSet() };
        ranges.push(range);
        this.rangesByFamily[cidr.family].push(range);
        const hostBits = familyBits(cidr.family) - cidr.prefix;
        const size = hostBits >= HUGE_HOST_BITS ? MAX_INT64 : slots.size;
        const sum = capacity[cidr.family] + size;
        capacity[cidr.family] = sum > MAX_INT64 ? MAX_INT64 : sum;
      }
      byName.set(name, state);
    }
    for (const family of [4, 6] as const) {
      const list = this.rangesByFamily[family];
      list.sort((a, b) => (a.slots.cidr.first < b.slots.cidr.first ? -1 : a.slots.cidr.first > b.slots.cidr.first ? 1 : 0));
      for (let i = 1; i < list.length; i++) {
        const prev = list[i - 1] as AddressRange;
        const cur = list[i] as AddressRange;
        if (cur.slots.cidr.first <= prev.slots.cidr.last) {
          throw new Error(
            `allocator: CIDR "${formatCidr(cur.slots.cidr)}" in pool "${cur.pool.name}" overlaps CIDR ` +
              `"${formatCidr(prev.slots.cidr)}" in pool "${prev.pool.name}"; the config parser must reject overlapping pools`,
          );
        }
      }
    }
    this.byName = byName;
    const byNameOrder = [...byName.values()].sort((a, b) => compareText(a.name, b.name));
    this.pinnedOrder = byNameOrder
      .filter((p) => p.pool.serviceAllocation !== undefined)
      .sort((a, b) => priorityRank(a) - priorityRank(b)); // stable: equal ranks stay in name order
    this.fallbackOrder = byNameOrder.filter((p) => p.pool.autoAssign && p.pool.serviceAllocation === undefined);
  }

  /** The CIDR containing the address, if it may be handed out (avoidBuggyIPs respected). */
  rangeFor(family: Family, value: bigint): AddressRange | undefined {
    const range = this.rangeContaining(family, value);
    return range && range.slots.allows(value) ? range : undefined;
  }

  /** The CIDR containing the address, ignoring avoidBuggyIPs (for error messages). */
  rangeContaining(family: Family, value: bigint): AddressRange | undefined {
    const list = this.rangesByFamily[family];
    let lo = 0;
    let hi = list.length - 1;
    let found: AddressRange | undefined;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const range = list[mid] as AddressRange;
      if (range.slots.cidr.first <= value) {
        found = range;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found && value <= found.slots.cidr.last ? found : undefined;
  }

  /** The one pool that may hand out all of these addresses (MetalLB `poolFor`), if any. */
  ownerOf(ips: readonly { readonly family: Family; readonly value: bigint }[]): PoolState | undefined {
    let owner: PoolState | undefined;
    for (const ip of ips) {
      const range = this.rangeFor(ip.family, ip.value);
      if (!range || (owner && range.pool !== owner)) return undefined;
      owner = range.pool;
    }
    return owner;
  }
}

/**
 * Whether a pool's spec.serviceAllocation admits the service (MetalLB
 * `isPoolCompatibleWithService`): if namespaces or namespaceSelectors are set the namespace
 * must be listed or selected, and if serviceSelectors are set one must match the Service labels.
 * A serviceAllocation with none of the three admits every service.
 */
export function poolAdmitsService(pool: Pool, svc: ServiceFacts): boolean {
  const sa = pool.serviceAllocation;
  if (!sa) return true;
  if (sa.namespaces.length > 0 || sa.namespaceSelectors.length > 0) {
    const namespaceOk =
      sa.namespaces.includes(svc.namespace) || sa.namespaceSelectors.some((s) => selectorMatches(s, svc.namespaceLabels));
    if (!namespaceOk) return false;
  }
  if (sa.serviceSelectors.length > 0 && !sa.serviceSelectors.some((s) => selectorMatches(s, svc.labels))) return false;
  return true;
}

/** Lower sorts first: priority 1, 2, ... and then the "no priority" pools (0 or negative). */
function priorityRank(p: PoolState): number {
  const priority = p.pool.serviceAllocation?.priority ?? 0;
  return priority > 0 ? priority : Number.MAX_SAFE_INTEGER;
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
