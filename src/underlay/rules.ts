// Rules U1-U7 of spec kube-ovn-underlay.md 6.2: is an IPAddressPool usable for MetalLB-style
// VIPs on a Kube-OVN underlay subnet, and which of its addresses must never be handed out.
// Pure: the caller gathers the objects (kubeOvnObjects.ts) and acts on the findings.
import { formatCidr, formatIp, parseCidr, parseIp, type Cidr, type Family } from '../net/address.js';
import {
  formatKubeOvnRange,
  formatRange,
  intersectRanges,
  normalizeRanges,
  rangeOfCidr,
  subtractRanges,
  type AddressRange,
} from './addressRanges.js';
import { effectiveExcludes } from './excludeIps.js';
import {
  providerReadyLabel,
  type KubeOvnControllerFlags,
  type KubeOvnIpFacts,
  type ProviderNetworkFacts,
  type SubnetFacts,
  type VlanFacts,
} from './kubeOvnObjects.js';

export type UnderlayRule = 'U1' | 'U2' | 'U3' | 'U4' | 'U5' | 'U6' | 'U7';

/** Event and condition reasons, exactly as spec 6.2 names them. */
export const UNDERLAY_REASONS = {
  poolOutsideUnderlaySubnet: 'PoolOutsideUnderlaySubnet',
  subnetNotEligible: 'SubnetNotEligible',
  poolNotExcluded: 'PoolNotExcluded',
  poolContainsReservedAddress: 'PoolContainsReservedAddress',
  addressInUse: 'AddressInUse',
  dualStackSubnetMismatch: 'DualStackSubnetMismatch',
  kubeOvnMisconfigured: 'KubeOVNMisconfigured',
  unsupportedSubnetMode: 'UnsupportedSubnetMode',
  providerNetworkNotReady: 'ProviderNetworkNotReady',
} as const;

/** Addresses a rule forbids the allocator to hand out, with the finding that forbids them. */
export interface BlockedRange extends AddressRange {
  readonly rule: UnderlayRule;
  readonly reason: string;
  readonly message: string;
}

export interface UnderlayFinding {
  readonly rule: UnderlayRule;
  readonly reason: string;
  readonly message: string;
  readonly severity: 'error' | 'warning';
  readonly blocksAllocation: boolean;
  readonly blockedRanges: readonly BlockedRange[];
}

/** Everything the checks read, already reduced to facts. */
export interface UnderlayInventory {
  readonly subnets: readonly SubnetFacts[];
  readonly vlans: ReadonlyMap<string, VlanFacts>;
  readonly providerNetworks: ReadonlyMap<string, ProviderNetworkFacts>;
  readonly ips: readonly KubeOvnIpFacts[];
  /** Labels of every node (for <pn>.provider-network.kubernetes.io/ready). */
  readonly nodeLabels: readonly Readonly<Record<string, string>>[];
  /** undefined when the kube-ovn-controller Deployment is not visible: U6 flag checks are skipped. */
  readonly controllerFlags?: KubeOvnControllerFlags;
}

export interface PoolUnderlayReport {
  readonly pool: string;
  readonly findings: readonly UnderlayFinding[];
  /** Addresses of the pool the allocator must not hand out (U2, U3, U4), merged per finding. */
  readonly blocked: readonly BlockedRange[];
  /** The pool's addresses minus the blocked ones: what the allocator may hand out. */
  readonly allowed: readonly AddressRange[];
}

/** What the checks need of a pool. */
export interface PoolAddresses {
  readonly name: string;
  readonly cidrs: readonly Cidr[];
}

/** Why a subnet is not a candidate for VIPs (6.2 "Candidate subnets"); [] when it is one. */
export function candidateProblems(s: SubnetFacts): string[] {
  const problems: string[] = [];
  if (s.vlan === '') problems.push('spec.vlan is empty');
  if (!s.enableExternalLBAddress) problems.push('enableExternalLBAddress is false');
  if (s.cidrBlock === '' || s.protocol === 'Mac') problems.push('spec.cidrBlock is empty (a MAC-only subnet cannot host VIPs)');
  if (!s.validated) problems.push('subnet not Validated');
  return problems;
}

export function candidateSubnets(inv: UnderlayInventory): SubnetFacts[] {
  return sortedSubnets(inv).filter((s) => candidateProblems(s).length === 0);
}

function sortedSubnets(inv: UnderlayInventory): SubnetFacts[] {
  return [...inv.subnets].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function subnetContaining(inv: UnderlayInventory, r: AddressRange): SubnetFacts | undefined {
  return sortedSubnets(inv).find((s) => {
    const c = s.cidrs[r.family];
    return c !== undefined && c.first <= r.first && r.last <= c.last;
  });
}

/** The addresses U3 names, with what they are; only those inside `within`. */
function reservedAddresses(s: SubnetFacts): { family: Family; value: bigint; what: string }[] {
  const out: { family: Family; value: bigint; what: string }[] = [];
  for (const family of [4, 6] as const) {
    const c = s.cidrs[family];
    if (!c) continue;
    out.push({ family, value: c.first, what: 'network address' });
    out.push({ family, value: c.last, what: family === 4 ? 'broadcast address' : 'last address' });
  }
  for (const g of s.gateways) out.push({ ...g, what: 'gateway' });
  const add = (text: string, what: string) => {
    const ip = parseIp(text.trim());
    if (ip && s.cidrs[ip.family]) out.push({ family: ip.family, value: ip.value, what });
  };
  for (const part of s.u2oInterconnectionIP.split(',')) add(part, 'u2oInterconnectionIP');
  for (const vip of s.vips) add(vip, 'reserved VIP (spec.vips)');
  for (const part of s.mcastQuerierIP.split(',')) add(part, 'multicast querier IP');
  return out;
}

function finding(
  rule: UnderlayRule,
  reason: string,
  message: string,
  severity: 'error' | 'warning',
  blocked: readonly AddressRange[] = [],
): UnderlayFinding {
  const blockedRanges = normalizeRanges(blocked).map((r) => ({ ...r, rule, reason, message }));
  return { rule, reason, message, severity, blocksAllocation: blockedRanges.length > 0, blockedRanges };
}

/** Runs U1-U7 for one pool. Findings come in rule order. */
export function checkPool(pool: PoolAddresses, inv: UnderlayInventory): PoolUnderlayReport {
  const name = pool.name;
  const poolRanges = normalizeRanges(pool.cidrs.map(rangeOfCidr));
  const findings: UnderlayFinding[] = [];
  const candidates = candidateSubnets(inv);
  /** Pool ranges per owning subnet (eligible or not: its IPAM owns the addresses either way). */
  const owned = new Map<SubnetFacts, AddressRange[]>();

  // U1: containment.
  for (const r of poolRanges) {
    const s = subnetContaining(inv, r);
    if (!s) {
      const list = candidates
        .filter((c) => c.cidrs[r.family])
        .map((c) => `${c.name} ${formatCidr(c.cidrs[r.family] as Cidr)}`);
      findings.push(
        finding(
          'U1',
          UNDERLAY_REASONS.poolOutsideUnderlaySubnet,
          `pool "${name}": range ${rangeText(r)} is not inside the CIDR of any Kube-OVN subnet with enableExternalLBAddress=true (candidates: ${list.length ? list.join(', ') : 'none'})`,
          'error',
        ),
      );
      continue;
    }
    const problems = candidateProblems(s);
    if (problems.length > 0) {
      findings.push(
        finding(
          'U1',
          UNDERLAY_REASONS.subnetNotEligible,
          `pool "${name}": range ${rangeText(r)} is in subnet "${s.name}" (${formatCidr(s.cidrs[r.family] as Cidr)}) but ${problems.join(' and ')}`,
          'error',
        ),
      );
    }
    let list = owned.get(s);
    if (!list) owned.set(s, (list = []));
    list.push(r);
  }

  for (const [s, ranges] of owned) {
    const reserved = reservedAddresses(s).filter((a) => ranges.some((r) => r.family === a.family && a.value >= r.first && a.value <= r.last));
    const reservedRanges = reserved.map((a) => ({ family: a.family, first: a.value, last: a.value }));
    // U2: what Kube-OVN's dynamic IPAM may still hand out. Reserved addresses are U3's business
    // (the network and last address cannot be excluded at all: Kube-OVN clamps them away).
    const excluded = effectiveExcludes(s.excludeIps, s.cidrs, s.gateways).ranges;
    const uncovered = subtractRanges(subtractRanges(ranges, excluded), reservedRanges);
    if (uncovered.length > 0) {
      findings.push(
        finding(
          'U2',
          UNDERLAY_REASONS.poolNotExcluded,
          `pool "${name}": ${uncovered.map(formatRange).join(', ')} in subnet "${s.name}" are not covered by spec.excludeIps; Kube-OVN IPAM may assign them to pods. Add ${uncovered.map((u) => `"${formatKubeOvnRange(u)}"`).join(', ')} to spec.excludeIps of subnet "${s.name}".`,
          'error',
          uncovered,
        ),
      );
    }
    // U3: reserved addresses, one finding each.
    const seen = new Set<string>();
    for (const a of reserved) {
      const key = `${a.family}/${a.value}/${a.what}`;
      if (seen.has(key)) continue;
      seen.add(key);
      findings.push(
        finding(
          'U3',
          UNDERLAY_REASONS.poolContainsReservedAddress,
          `pool "${name}": ${formatIp(a.family, a.value)} is the ${a.what} of subnet "${s.name}"`,
          'error',
          [{ family: a.family, first: a.value, last: a.value }],
        ),
      );
    }
  }

  // U4: live Kube-OVN allocations (static allocation bypasses excludeIps).
  for (const ip of [...inv.ips].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    for (const a of ip.addresses) {
      if (!poolRanges.some((r) => r.family === a.family && a.value >= r.first && a.value <= r.last)) continue;
      findings.push(
        finding(
          'U4',
          UNDERLAY_REASONS.addressInUse,
          `${formatIp(a.family, a.value)} in pool "${name}" is already allocated by Kube-OVN to ${ip.podNamespace}/${ip.podName} (ips.kubeovn.io/${ip.name})`,
          'error',
          [{ family: a.family, first: a.value, last: a.value }],
        ),
      );
    }
  }

  // U5 (pool level): both families must come from one subnet; a single-family pool is fine.
  const ownerOf = (family: Family) => [...owned].filter(([, rs]) => rs.some((r) => r.family === family)).map(([s]) => s);
  const v4Owners = ownerOf(4);
  const v6Owners = ownerOf(6);
  if (v4Owners.length > 0 && v6Owners.length > 0 && !v4Owners.some((s) => v6Owners.includes(s))) {
    const v4 = owned.get(v4Owners[0] as SubnetFacts)?.find((r) => r.family === 4) as AddressRange;
    const v6 = owned.get(v6Owners[0] as SubnetFacts)?.find((r) => r.family === 6) as AddressRange;
    findings.push(
      finding(
        'U5',
        UNDERLAY_REASONS.dualStackSubnetMismatch,
        `pool "${name}": IPv4 ${rangeText(v4)} is in subnet "${(v4Owners[0] as SubnetFacts).name}" but IPv6 ${rangeText(v6)} is in subnet "${(v6Owners[0] as SubnetFacts).name}"; both families must come from one dual-stack subnet`,
        'warning',
      ),
    );
  }

  // U6 and U7 concern the subnets the pool actually uses for VIPs.
  const used = [...owned.keys()].filter((s) => candidateProblems(s).length === 0 || s.vlan !== '');
  findings.push(...clusterConfigFindings(name, used, poolRanges, inv));
  for (const s of used) findings.push(...providerFindings(name, s, inv));

  const blocked = findings.flatMap((f) => f.blockedRanges).map((b) => ({ ...b }));
  const allowed = subtractRanges(poolRanges, blocked);
  return { pool: name, findings, blocked, allowed };
}

/** allowedRanges(pool): the addresses the allocator may hand out (U2, U3, U4 removed). */
export function allowedRanges(pool: PoolAddresses, inv: UnderlayInventory): readonly AddressRange[] {
  return checkPool(pool, inv).allowed;
}

function clusterConfigFindings(pool: string, subnets: readonly SubnetFacts[], poolRanges: readonly AddressRange[], inv: UnderlayInventory): UnderlayFinding[] {
  if (subnets.length === 0) return [];
  const out: UnderlayFinding[] = [];
  const flags = inv.controllerFlags;
  const requirement = 'MetalLB-style VIPs on underlay subnets require --enable-ovn-lb-prefer-local=true and --ls-ct-skip-dst-lport-ips=false';
  if (flags) {
    if (!flags.enableOvnLbPreferLocal) {
      out.push(finding('U6', UNDERLAY_REASONS.kubeOvnMisconfigured, `Kube-OVN controller flag --enable-ovn-lb-prefer-local is false; ${requirement}`, 'warning'));
    }
    if (flags.lsCtSkipDstLportIps) {
      out.push(finding('U6', UNDERLAY_REASONS.kubeOvnMisconfigured, `Kube-OVN controller flag --ls-ct-skip-dst-lport-ips is true; ${requirement}`, 'warning'));
    }
    if (!flags.enableLb) {
      out.push(finding('U6', UNDERLAY_REASONS.kubeOvnMisconfigured, `Kube-OVN controller flag --enable-lb is false; ${requirement}, and OVN load balancers (--enable-lb=true)`, 'warning'));
    }
    for (const text of flags.skipConntrackDstCidrs) {
      const c = parseCidr(text) ?? singleAddressCidr(text);
      if (!c) continue;
      const overlap = intersectRanges(poolRanges, [rangeOfCidr(c)]);
      if (overlap.length === 0) continue;
      out.push(
        finding(
          'U6',
          UNDERLAY_REASONS.kubeOvnMisconfigured,
          `Kube-OVN controller flag --skip-conntrack-dst-cidrs entry ${text} overlaps pool "${pool}" (${overlap.map(formatRange).join(', ')}); traffic to those VIPs skips conntrack and is never load-balanced. Remove the entry or move the pool.`,
          'warning',
        ),
      );
    }
  }
  for (const s of subnets) {
    if (s.enableLb === false) {
      out.push(
        finding(
          'U6',
          UNDERLAY_REASONS.kubeOvnMisconfigured,
          `pool "${pool}": subnet "${s.name}" has spec.enableLb=false; Kube-OVN does not attach its load balancers to the subnet, so the VIPs are never DNATed. Remove spec.enableLb or set it to true.`,
          'warning',
        ),
      );
    }
    if (s.logicalGateway) {
      out.push(
        finding(
          'U6',
          UNDERLAY_REASONS.unsupportedSubnetMode,
          `pool "${pool}": subnet "${s.name}" has spec.logicalGateway=true; MetalLB-style VIPs are only supported with the physical gateway (set logicalGateway to false)`,
          'warning',
        ),
      );
    }
    const pn = inv.providerNetworks.get(inv.vlans.get(s.vlan)?.provider ?? '');
    if (pn?.exchangeLinkName) {
      out.push(
        finding(
          'U6',
          UNDERLAY_REASONS.kubeOvnMisconfigured,
          `pool "${pool}": provider network "${pn.name}" of subnet "${s.name}" has spec.exchangeLinkName=true; Kube-OVN installs the VIP flows on br-${pn.name} and the provider NIC, names that are swapped in that mode. Set exchangeLinkName to false.`,
          'warning',
        ),
      );
    }
  }
  return out;
}

function providerFindings(pool: string, s: SubnetFacts, inv: UnderlayInventory): UnderlayFinding[] {
  const notReady = (message: string) => [finding('U7', UNDERLAY_REASONS.providerNetworkNotReady, message, 'error')];
  if (s.vlan === '') return [];
  const vlan = inv.vlans.get(s.vlan);
  if (!vlan) return notReady(`pool "${pool}": subnet "${s.name}" names Vlan "${s.vlan}" in spec.vlan, but no such Vlan exists; create it or fix spec.vlan`);
  const pn = inv.providerNetworks.get(vlan.provider);
  if (!pn) {
    return notReady(`pool "${pool}": Vlan "${vlan.name}" of subnet "${s.name}" names provider network "${vlan.provider}", but no such ProviderNetwork exists`);
  }
  const out: UnderlayFinding[] = [];
  const label = providerReadyLabel(pn.name);
  if (!inv.nodeLabels.some((l) => l[label] === 'true')) {
    out.push(...notReady(`pool "${pool}": no node carries ${label}=true, so provider network "${pn.name}" (subnet "${s.name}") is ready nowhere and no node can announce the pool's addresses`));
  }
  if (!pn.statusVlans.includes(vlan.name)) {
    out.push(...notReady(`pool "${pool}": Vlan "${vlan.name}" of subnet "${s.name}" is not in status.vlans of provider network "${pn.name}"; Kube-OVN has not bound the VLAN to the provider network yet`));
  }
  return out;
}

/**
 * U5 for one Service: both ingress IPs must lie in one subnet. Undefined when fine (single
 * stack, same subnet, or an IP outside every subnet, which U1 reports on the pool).
 */
export function checkServiceDualStack(serviceKey: string, ips: readonly string[], inv: UnderlayInventory): UnderlayFinding | undefined {
  const parsed = ips.map((t) => parseIp(t)).filter((p) => p !== undefined);
  const v4 = parsed.find((p) => p.family === 4);
  const v6 = parsed.find((p) => p.family === 6);
  if (!v4 || !v6) return undefined;
  const a = subnetContaining(inv, { family: 4, first: v4.value, last: v4.value });
  const b = subnetContaining(inv, { family: 6, first: v6.value, last: v6.value });
  if (!a || !b || a === b) return undefined;
  return finding(
    'U5',
    UNDERLAY_REASONS.dualStackSubnetMismatch,
    `service ${serviceKey}: IPv4 ${formatIp(4, v4.value)} is in subnet "${a.name}" but IPv6 ${formatIp(6, v6.value)} is in subnet "${b.name}"; both families must come from one dual-stack subnet`,
    'error',
  );
}

function rangeText(r: AddressRange): string {
  return `${formatIp(r.family, r.first)}-${formatIp(r.family, r.last)}`;
}

function singleAddressCidr(text: string): Cidr | undefined {
  const ip = parseIp(text);
  return ip ? { family: ip.family, first: ip.value, last: ip.value, prefix: ip.family === 4 ? 32 : 128 } : undefined;
}
