// LoadBalancer IP allocation with MetalLB's semantics (spec/metallb.md §3): which pool, which
// address, when addresses may be shared, what survives a config change. Pure: no I/O, no clock.
//
// Cost model: the used addresses of every pool CIDR are a RunSet (sorted runs), so the first
// free address is a binary search, not a scan; addresses open to sharing are indexed by
// (sharing key, backend key). Counters are maintained incrementally.
import type { Pool } from '../config/model.js';
import { formatIp, parseIp, type Family } from '../net/address.js';
import { PoolTable, poolAdmitsService, type AddressRange, type PoolState } from './poolTable.js';
import { RunSet } from './runSet.js';
import { SortedByValue } from './sortedByValue.js';
import type { AllocationResult, PoolCounters, ServiceFacts, ServicePort } from './types.js';

export { MAX_INT64 } from './poolTable.js';

interface ParsedIp {
  readonly text: string;
  readonly family: Family;
  readonly value: bigint;
}

/** One address in use by one or more services. */
interface IpUse extends ParsedIp {
  range: AddressRange;
  readonly users: Set<string>;
  /** "TCP/80" -> service key. */
  readonly portOwners: Map<string, string>;
  /** Keys of the users; all users of a shared address have the same keys (3.4). */
  readonly sharingKey: string;
  readonly backendKey: string;
}

interface Holding {
  readonly key: string;
  pool: string;
  readonly uses: readonly IpUse[];
  readonly ports: readonly ServicePort[];
}

/** Which families a service wants (3.2 step 4), derived from its cluster IPs. */
type FamilyPlan =
  | { readonly kind: 'single'; readonly family: Family }
  | { readonly kind: 'dual'; readonly preferDualStack: boolean; readonly primary: Family };

type Picked = Partial<Record<Family, bigint>>;

/**
 * Addresses of a pool that must not be handed out although they are in spec.addresses (e.g.
 * the Kube-OVN underlay checks: not excluded from Kube-OVN IPAM, reserved, or in use there).
 * `why` names the rule; it ends up in the AllocationFailed event of a Service requesting one.
 */
export interface BlockedAddresses {
  readonly family: Family;
  readonly first: bigint;
  readonly last: bigint;
  readonly why: string;
}

const NO_COUNTERS: PoolCounters = Object.freeze({ assignedIPv4: 0n, assignedIPv6: 0n, availableIPv4: 0n, availableIPv6: 0n });

export class Allocator {
  private table = new PoolTable(new Map());
  private readonly holdings = new Map<string, Holding>();
  private readonly uses = new Map<string, IpUse>();
  /** (sharing key, backend key) -> addresses in use under exactly those keys, per family. */
  private readonly shareable = new Map<string, Record<Family, SortedByValue<IpUse>>>();
  /** Pool name -> blocked ranges per family, sorted by first and disjoint. */
  private readonly blocked = new Map<string, Record<Family, BlockedAddresses[]>>();

  /**
   * Replaces the blocked addresses of a pool (by name; kept across setPools). Blocked addresses
   * are never picked, and assigning one (requested IP or re-validation) fails naming `why`.
   * Allocations already held are not touched here: the caller re-converges its Services.
   */
  setBlockedAddresses(pool: string, blocked: readonly BlockedAddresses[]): void {
    if (blocked.length === 0) {
      this.blocked.delete(pool);
      return;
    }
    const byFamily: Record<Family, BlockedAddresses[]> = { 4: [], 6: [] };
    const sorted = [...blocked].filter((b) => b.first <= b.last).sort((a, b) => (a.first < b.first ? -1 : a.first > b.first ? 1 : 0));
    for (const b of sorted) {
      const list = byFamily[b.family];
      const prev = list[list.length - 1];
      // Overlaps are merged; the first reason covers the merged part (lookup needs disjoint ranges).
      if (prev && b.first <= prev.last) {
        if (b.last > prev.last) list.push({ ...b, first: prev.last + 1n });
      } else {
        list.push(b);
      }
    }
    this.blocked.set(pool, byFamily);
  }

  /** The block covering the address in the pool, if any. */
  blockedAt(pool: string, family: Family, value: bigint): BlockedAddresses | undefined {
    const list = this.blocked.get(pool)?.[family];
    if (!list || list.length === 0) return undefined;
    let lo = 0;
    let hi = list.length - 1;
    let found: BlockedAddresses | undefined;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const b = list[mid] as BlockedAddresses;
      if (b.first <= value) {
        found = b;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found && value <= found.last ? found : undefined;
  }

  /**
   * Replace the pools. Each allocation is kept if one pool of the new config owns all its IPs
   * (moved to that pool if it was renamed or split), otherwise released (3.5). Returns the
   * keys whose allocation was dropped, sorted.
   */
  setPools(pools: ReadonlyMap<string, Pool>): { dropped: string[] } {
    const next = new PoolTable(pools);
    const dropped: string[] = [];
    for (const key of [...this.holdings.keys()].sort()) {
      const holding = this.holdings.get(key) as Holding;
      const owner = next.ownerOf(holding.uses);
      if (owner) {
        holding.pool = owner.name;
      } else {
        this.release(holding);
        dropped.push(key);
      }
    }
    // Every remaining address belongs to a kept allocation, so the new config owns it.
    const slotsByRange = new Map<AddressRange, bigint[]>();
    for (const use of this.uses.values()) {
      const range = next.rangeFor(use.family, use.value) as AddressRange;
      use.range = range;
      range.pool.inUse[use.family]++;
      let list = slotsByRange.get(range);
      if (!list) slotsByRange.set(range, (list = []));
      list.push(range.slots.slotOf(use.value));
    }
    for (const [range, slots] of slotsByRange) {
      slots.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      range.used = RunSet.fromAscending(slots);
    }
    this.table = next;
    return { dropped };
  }

  /**
   * Explicit IPs: a requested IP, or re-validation of the IPs a Service already has (3.2
   * `Assign`). On success the service holds exactly these IPs (any previous ones are released).
   */
  assign(svc: ServiceFacts, ips: readonly string[]): AllocationResult {
    const parsed: ParsedIp[] = [];
    for (const text of ips) {
      const ip = parseIp(text);
      if (!ip) return fail(`invalid IP "${text}" for service "${svc.key}": expected an IPv4 or IPv6 address`);
      parsed.push({ text: formatIp(ip.family, ip.value), family: ip.family, value: ip.value });
    }
    return this.assignParsed(svc, parsed);
  }

  /**
   * Automatic allocation (3.2 `Allocate`): an existing allocation is re-assigned (refreshing
   * ports and keys); otherwise the pinned pools are tried in priority order, then the
   * autoAssign pools without serviceAllocation.
   */
  allocate(svc: ServiceFacts): AllocationResult {
    const held = this.holdings.get(svc.key);
    if (held) return this.assignParsed(svc, held.uses);
    const plan = familyPlan(svc);
    if (typeof plan === 'string') return fail(plan);
    const pinned = this.table.pinnedOrder.filter((p) => p.pool.autoAssign && poolAdmitsService(p.pool, svc));
    for (const candidates of [pinned, this.table.fallbackOrder]) {
      const choice = this.bestPool(candidates, svc, plan);
      if (!choice) continue;
      const result = this.assignParsed(svc, choice);
      if (result.ok) return result;
    }
    return fail(
      `no available IPs; no IPAddressPool with autoAssign that admits service "${svc.key}" has a free ` +
        `${describeWanted(plan)} address (add addresses to a pool or free an IP)`,
    );
  }

  /**
   * metallb.io/address-pool (3.2 `AllocateFromPool`). autoAssign is ignored; serviceAllocation
   * still applies. An allocation already in this pool is re-assigned; one in another pool is
   * released first (as the controller does, 3.3 step 5), so finding this pool full leaves the
   * service with no IP. Unknown or non-admitting pools change nothing.
   */
  allocateFromPool(svc: ServiceFacts, poolName: string): AllocationResult {
    const held = this.holdings.get(svc.key);
    if (held && held.pool === poolName) {
      const plan = familyPlan(svc);
      if (typeof plan !== 'string' && svc.ipFamilyPolicy !== 'PreferDualStack' && !holdsPlannedFamilies(held, plan)) {
        return fail(
          `IP for wrong family assigned: service "${svc.key}" holds ${held.uses.map((u) => u.text).join(', ')} but its ` +
            `cluster IPs are ${describeWanted(plan)}; release the IP and allocate again`,
        );
      }
      return this.assignParsed(svc, held.uses);
    }
    const pool = this.table.byName.get(poolName);
    if (!pool) {
      return fail(`unknown pool "${poolName}" (service "${svc.key}" asks for it in metallb.io/address-pool; create the IPAddressPool or fix the annotation)`);
    }
    const plan = familyPlan(svc);
    if (typeof plan === 'string') return fail(plan);
    if (!poolAdmitsService(pool.pool, svc)) return fail(notCompatible(pool, svc));
    if (held) this.release(held);
    const picked = this.pickFromPool(pool, wantedFamilies(plan), svc);
    const chosen = familiesToTake(plan, picked);
    if (!chosen) {
      const missing = plan.kind === 'dual' && !plan.preferDualStack ? describeMissing(picked) : describeWanted(plan);
      return fail(`no available IPs in pool "${poolName}" for ${missing} IPFamily (add addresses to the pool or free an IP)`);
    }
    return this.assignParsed(
      svc,
      chosen.map((f) => toParsed(f, picked[f] as bigint)),
    );
  }

  /**
   * PreferDualStack service holding one IP (3.3 step 6): add an IP of the missing family from
   * the same pool, keeping the one it has (MetalLB `AllocateFromPoolForAdditionalFamily`).
   */
  allocateAdditionalFamily(svc: ServiceFacts): AllocationResult {
    const held = this.holdings.get(svc.key);
    const existing = held?.uses[0];
    if (!held || !existing || held.uses.length !== 1) {
      return fail(`service "${svc.key}" must hold exactly one IP to get an additional family (it holds ${held?.uses.length ?? 0})`);
    }
    const pool = this.table.byName.get(held.pool) as PoolState;
    const missing: Family = existing.family === 4 ? 6 : 4;
    const value = this.pickFromPool(pool, [missing], svc)[missing];
    if (value === undefined) {
      return fail(`no available IPs in pool "${pool.name}" for IPv${missing} IPFamily (add IPv${missing} addresses to the pool or free an IP)`);
    }
    return this.assignParsed(svc, [existing, toParsed(missing, value)]);
  }

  /** Releases the service's IPs; false if it held none. */
  unassign(key: string): boolean {
    const held = this.holdings.get(key);
    if (!held) return false;
    this.release(held);
    return true;
  }

  allocationOf(key: string): { pool: string; ips: readonly string[] } | undefined {
    const held = this.holdings.get(key);
    return held ? { pool: held.pool, ips: held.uses.map((u) => u.text) } : undefined;
  }

  /** Keys of all services holding IPs, sorted. */
  allocatedKeys(): string[] {
    return [...this.holdings.keys()].sort();
  }

  /** The pool that may hand out all of these IPs under the current pools (avoidBuggyIPs respected). */
  poolOwning(ips: readonly string[]): string | undefined {
    const parsed = ips.map((t) => parseIp(t));
    if (parsed.length === 0 || parsed.some((p) => p === undefined)) return undefined;
    return this.table.ownerOf(parsed as ParsedIp[])?.name;
  }

  /** Pool status counters (3.7); zeros for an unknown pool. */
  poolCounters(pool: string): PoolCounters {
    const state = this.table.byName.get(pool);
    if (!state) return NO_COUNTERS;
    const v4 = BigInt(state.inUse[4]);
    const v6 = BigInt(state.inUse[6]);
    return { assignedIPv4: v4, assignedIPv6: v6, availableIPv4: state.capacity[4] - v4, availableIPv6: state.capacity[6] - v6 };
  }

  poolNames(): string[] {
    return [...this.table.byName.keys()].sort();
  }

  // --- internals -------------------------------------------------------------------------

  /** MetalLB `Assign`: owning pool, serviceAllocation, at most one IP per family, sharing. */
  private assignParsed(svc: ServiceFacts, ips: readonly ParsedIp[]): AllocationResult {
    if (ips.length === 0) return fail(`no IPs given for service "${svc.key}"`);
    const owner = this.table.ownerOf(ips);
    if (!owner) return fail(`${goQuoted(ips)} is not allowed in config (${this.whyNotAllowed(ips)})`);
    if (!poolAdmitsService(owner.pool, svc)) return fail(notCompatible(owner, svc));
    for (const ip of ips) {
      const block = this.blockedAt(owner.name, ip.family, ip.value);
      if (block) return fail(`${ip.text} in pool "${owner.name}" may not be handed out: ${block.why}`);
    }
    if (ips.length > 2) return fail(`more than two addresses ${goQuoted(ips)} (a service gets one IPv4 and/or one IPv6 address)`);
    const [a, b] = ips as [ParsedIp, ParsedIp | undefined];
    if (b && a.family === b.family) {
      return fail(`"${a.text}" "${b.text}" has the same family (a dual-stack service needs one IPv4 and one IPv6 address)`);
    }
    for (const ip of ips) {
      const use = this.uses.get(ip.text);
      const conflict = use && sharingConflict(use, svc);
      if (conflict) return fail(conflict);
    }
    this.commit(svc, owner, ips);
    return { ok: true, pool: owner.name, ips: ips.map((ip) => ip.text) };
  }

  private commit(svc: ServiceFacts, owner: PoolState, ips: readonly ParsedIp[]): void {
    const previous = this.holdings.get(svc.key);
    if (previous) this.release(previous);
    const ports = svc.ports.map((p) => ({ protocol: p.protocol, port: p.port }));
    const uses = ips.map((ip) => {
      const use = this.uses.get(ip.text) ?? this.startUse(ip, svc);
      use.users.add(svc.key);
      for (const p of ports) use.portOwners.set(portKey(p), svc.key);
      return use;
    });
    this.holdings.set(svc.key, { key: svc.key, pool: owner.name, uses, ports });
  }

  private startUse(ip: ParsedIp, svc: ServiceFacts): IpUse {
    const range = this.table.rangeFor(ip.family, ip.value) as AddressRange;
    const use: IpUse = {
      ...ip,
      range,
      users: new Set(),
      portOwners: new Map(),
      sharingKey: svc.sharingKey,
      backendKey: svc.backendKey,
    };
    this.uses.set(ip.text, use);
    range.used.add(range.slots.slotOf(ip.value));
    range.pool.inUse[ip.family]++;
    if (use.sharingKey !== '') {
      const k = shareIndexKey(use.sharingKey, use.backendKey);
      let byFamily = this.shareable.get(k);
      if (!byFamily) this.shareable.set(k, (byFamily = { 4: new SortedByValue(), 6: new SortedByValue() }));
      byFamily[use.family].insert(use);
    }
    return use;
  }

  private release(held: Holding): void {
    this.holdings.delete(held.key);
    for (const use of held.uses) {
      use.users.delete(held.key);
      for (const p of held.ports) {
        const k = portKey(p);
        if (use.portOwners.get(k) === held.key) use.portOwners.delete(k);
      }
      if (use.users.size === 0) this.endUse(use);
    }
  }

  private endUse(use: IpUse): void {
    this.uses.delete(use.text);
    use.range.used.delete(use.range.slots.slotOf(use.value));
    use.range.pool.inUse[use.family]--;
    if (use.sharingKey !== '') {
      const k = shareIndexKey(use.sharingKey, use.backendKey);
      const byFamily = this.shareable.get(k);
      if (byFamily) {
        byFamily[use.family].remove(use.value);
        if (byFamily[4].length === 0 && byFamily[6].length === 0) this.shareable.delete(k);
      }
    }
  }

  /**
   * MetalLB `findBestPoolForService` over one ordered list: the first pool with every wanted
   * family; for PreferDualStack with dual cluster IPs, failing that, the first pool with the
   * primary family, then the first with the secondary one.
   */
  private bestPool(pools: readonly PoolState[], svc: ServiceFacts, plan: FamilyPlan): ParsedIp[] | undefined {
    let primaryOnly: ParsedIp[] | undefined;
    let secondaryOnly: ParsedIp[] | undefined;
    for (const pool of pools) {
      const picked = this.pickFromPool(pool, wantedFamilies(plan), svc);
      if (plan.kind === 'single') {
        const v = picked[plan.family];
        if (v !== undefined) return [toParsed(plan.family, v)];
        continue;
      }
      const v4 = picked[4];
      const v6 = picked[6];
      if (v4 !== undefined && v6 !== undefined) return [toParsed(4, v4), toParsed(6, v6)];
      if (!plan.preferDualStack) continue;
      const secondary: Family = plan.primary === 4 ? 6 : 4;
      const p = picked[plan.primary];
      const s = picked[secondary];
      if (p !== undefined && !primaryOnly) primaryOnly = [toParsed(plan.primary, p)];
      if (s !== undefined && !secondaryOnly) secondaryOnly = [toParsed(secondary, s)];
    }
    return primaryOnly ?? secondaryOnly;
  }

  /** MetalLB `getFreeIPsFromPool`: walk the CIDRs in spec.addresses order, first usable IP per family. */
  private pickFromPool(pool: PoolState, families: readonly Family[], svc: ServiceFacts): Picked {
    const picked: Picked = {};
    let missing = families.length;
    for (const range of pool.ranges) {
      const family = range.slots.cidr.family;
      if (!families.includes(family) || picked[family] !== undefined) continue;
      const value = this.firstUsable(range, svc);
      if (value === undefined) continue;
      picked[family] = value;
      if (--missing === 0) break;
    }
    return picked;
  }

  /**
   * MetalLB `getIPFromCIDR`: the lowest address of the CIDR that is free or that the service may
   * share (3.4). Free: one RunSet lookup. Shareable: only addresses already used under the
   * same (sharing, backend) keys and below the first free one are candidates.
   * The caller never holds an address of this family here, so "sole user" cannot apply.
   */
  private firstUsable(range: AddressRange, svc: ServiceFacts): bigint | undefined {
    const { slots, used } = range;
    const poolName = range.pool.name;
    const family = slots.cidr.family;
    let free: bigint | undefined;
    let from = slots.firstSlot;
    while (slots.size > 0n && from <= slots.lastSlot) {
      const slot = used.firstAbsentFrom(from);
      if (slot > slots.lastSlot) break;
      const value = slots.addressOf(slot);
      const block = this.blockedAt(poolName, family, value);
      if (!block) {
        free = value;
        break;
      }
      // Jump past the blocked run to the next address the CIDR allows (avoidBuggyIPs).
      let next = block.last + 1n;
      while (next <= slots.cidr.last && !slots.allows(next)) next++;
      if (next > slots.cidr.last) break;
      from = slots.slotOf(next);
    }
    if (svc.sharingKey === '') return free;
    const candidates = this.shareable.get(shareIndexKey(svc.sharingKey, svc.backendKey))?.[slots.cidr.family];
    if (!candidates) return free;
    const bound = free === undefined ? slots.cidr.last : free - 1n;
    for (let i = candidates.indexAtOrAfter(slots.cidr.first); i < candidates.length; i++) {
      const use = candidates.at(i) as IpUse;
      if (use.value > bound) break;
      if (this.blockedAt(poolName, family, use.value)) continue;
      if (svc.ports.every((p) => !use.portOwners.has(portKey(p)))) return use.value;
    }
    return free;
  }

  private whyNotAllowed(ips: readonly ParsedIp[]): string {
    const owners = new Set<string>();
    for (const ip of ips) {
      const range = this.table.rangeContaining(ip.family, ip.value);
      if (!range) return `${ip.text} is in no IPAddressPool; add it to a pool's spec.addresses or request another IP`;
      if (!range.slots.allows(ip.value)) {
        return `${ip.text} ends in .0 or .255 and IPAddressPool "${range.pool.name}" has avoidBuggyIPs set`;
      }
      owners.add(range.pool.name);
    }
    return `the addresses belong to different pools (${[...owners].sort().join(', ')}); both IPs of a dual-stack service must come from one pool`;
  }
}

/** The family plan of 3.2 step 4, or an error text. */
function familyPlan(svc: ServiceFacts): FamilyPlan | string {
  const families = svc.clusterIpFamilies;
  if (families.length === 0) {
    return `service "${svc.key}" has no cluster IP, so its IP family is unknown; MetalLB allocates nothing until spec.clusterIPs is set`;
  }
  const [first, second] = families as [Family, Family | undefined];
  if (families.length === 1) return { kind: 'single', family: first };
  if (families.length > 2 || second === first) {
    return `service "${svc.key}" has cluster IPs of families [${families.map((f) => `IPv${f}`).join(', ')}]; expected one address, or one IPv4 and one IPv6`;
  }
  return { kind: 'dual', preferDualStack: svc.ipFamilyPolicy === 'PreferDualStack', primary: svc.primaryFamily };
}

function wantedFamilies(plan: FamilyPlan): readonly Family[] {
  return plan.kind === 'single' ? [plan.family] : [4, 6];
}

/** MetalLB `selectIPsForFamilyAndPolicy` on one pool's pick; undefined when it is not enough. */
function familiesToTake(plan: FamilyPlan, picked: Picked): Family[] | undefined {
  const has4 = picked[4] !== undefined;
  const has6 = picked[6] !== undefined;
  if (plan.kind === 'single') return picked[plan.family] !== undefined ? [plan.family] : undefined;
  if (has4 && has6) return [4, 6];
  // PreferDualStack settles for whichever family the pool still has, IPv4 first.
  if (plan.preferDualStack && (has4 || has6)) return has4 ? [4] : [6];
  return undefined;
}

function holdsPlannedFamilies(held: Holding, plan: FamilyPlan): boolean {
  if (plan.kind === 'single') return held.uses.length === 1 && held.uses[0]?.family === plan.family;
  return held.uses.length === 2;
}

function describeWanted(plan: FamilyPlan): string {
  if (plan.kind === 'single') return `IPv${plan.family}`;
  return plan.preferDualStack ? 'IPv4 or IPv6' : 'dual-stack (IPv4 and IPv6)';
}

function describeMissing(picked: Picked): string {
  if (picked[4] === undefined && picked[6] === undefined) return 'dual-stack (IPv4 and IPv6)';
  return picked[4] === undefined ? 'IPv4' : 'IPv6';
}

/**
 * Why the service may not use an address that others use (3.4), or undefined when it may:
 * the address is free or used only by this service (which may change its own keys), or every
 * other user has the same non-empty sharing key and backend key and no (protocol, port) overlaps.
 */
function sharingConflict(use: IpUse, svc: ServiceFacts): string | undefined {
  const others = [...use.users].filter((k) => k !== svc.key).sort();
  if (others.length === 0) return undefined;
  const reason = keyMismatch(use, svc);
  if (reason) return `can't change sharing key for "${svc.key}", address also in use by ${others.join(',')} (${reason})`;
  for (const p of svc.ports) {
    const holder = use.portOwners.get(portKey(p));
    if (holder !== undefined && holder !== svc.key) {
      return `port ${portKey(p)} is already in use on "${use.text}" (by ${holder}; services sharing an IP need distinct protocol/port pairs)`;
    }
  }
  return undefined;
}

function keyMismatch(use: IpUse, svc: ServiceFacts): string | undefined {
  if (use.sharingKey === '') return 'the services already using it do not set metallb.io/allow-shared-ip';
  if (svc.sharingKey === '') return 'this service does not set metallb.io/allow-shared-ip';
  if (svc.sharingKey !== use.sharingKey) {
    return `metallb.io/allow-shared-ip "${svc.sharingKey}" differs from "${use.sharingKey}"`;
  }
  if (svc.backendKey !== use.backendKey) {
    return 'externalTrafficPolicy/selector differ: Local services must have identical selectors and cannot share with Cluster ones';
  }
  return undefined;
}

function notCompatible(pool: PoolState, svc: ServiceFacts): string {
  return (
    `pool ${pool.name} not compatible for ip assignment (spec.serviceAllocation of IPAddressPool "${pool.name}" ` +
    `does not admit service "${svc.key}": check its namespaces, namespaceSelectors and serviceSelectors)`
  );
}

function toParsed(family: Family, value: bigint): ParsedIp {
  return { text: formatIp(family, value), family, value };
}

function portKey(p: ServicePort): string {
  return `${p.protocol}/${p.port}`;
}

function shareIndexKey(sharingKey: string, backendKey: string): string {
  return JSON.stringify([sharingKey, backendKey]);
}

/** Go's %q of a []net.IP, as in MetalLB's messages: ["1.2.3.4" "1000::4"]. */
function goQuoted(ips: readonly ParsedIp[]): string {
  return `[${ips.map((ip) => `"${ip.text}"`).join(' ')}]`;
}

function fail(error: string): AllocationResult {
  return { ok: false, error };
}
