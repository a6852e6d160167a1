// L2Advertisement and BGPAdvertisement objects -> models: pool selection, community resolution,
// aggregation-length rules and MetalLB's LOCAL_PREF compatibility rule.
import { parseAddressEntry, type Family } from '../net/address.js';
import { classifyCommunityText } from './community.js';
import { anySelectorMatches } from './labelSelector.js';
import type { BGPAdvertisement, Community, L2Advertisement, LabelSelector, Pool } from './model.js';
import type { ParsedObject } from './parsedObject.js';
import type { ConfigProblems, ObjectRef } from './problems.js';
import type { NodeInput } from './resources.js';
import {
  DEFAULT_AGGREGATION_LENGTH,
  DEFAULT_AGGREGATION_LENGTH_V6,
  toLabelSelector,
  type BGPAdvertisementSpec,
  type L2AdvertisementSpec,
} from './schemas.js';

/**
 * Pools an advertisement applies to: the named pools plus the pools whose labels match any of
 * the selectors; both lists empty => every pool. Unknown names are ignored (MetalLB). Result in
 * pool order, each pool once.
 */
export function resolveAdvertisedPools(
  names: readonly string[],
  selectors: readonly LabelSelector[],
  pools: readonly Pool[],
): string[] {
  if (names.length === 0 && selectors.length === 0) return pools.map((p) => p.name);
  const named = new Set(names);
  return pools
    .filter((p) => named.has(p.name) || (selectors.length > 0 && selectors.some((s) => anySelectorMatches([s], p.labels))))
    .map((p) => p.name);
}

export function buildL2Advertisements(objects: readonly ParsedObject<L2AdvertisementSpec>[], pools: readonly Pool[]): L2Advertisement[] {
  return objects.map(({ ref, spec }) => ({
    name: ref.name,
    pools: resolveAdvertisedPools(spec.ipAddressPools ?? [], (spec.ipAddressPoolSelectors ?? []).map(toLabelSelector), pools),
    nodeSelectors: (spec.nodeSelectors ?? []).map(toLabelSelector),
    interfaces: [...(spec.interfaces ?? [])],
    serviceSelectors: (spec.serviceSelectors ?? []).map(toLabelSelector),
    preferredNodeSelectors: (spec.preferredNodeSelectors ?? []).map((p) => ({ weight: p.weight, preference: toLabelSelector(p.preference) })),
  }));
}

export interface BGPAdvertisementContext {
  readonly pools: readonly Pool[];
  readonly aliases: ReadonlyMap<string, Community>;
  /** Every alias name defined, even with an invalid value (that error is reported on the Community). */
  readonly aliasNames: ReadonlySet<string>;
}

function resolveCommunities(obj: ParsedObject<BGPAdvertisementSpec>, ctx: BGPAdvertisementContext, problems: ConfigProblems): Community[] {
  const out: Community[] = [];
  (obj.spec.communities ?? []).forEach((text, i) => {
    const c = classifyCommunityText(text);
    if (c.kind === 'value') out.push(c.community);
    else if (c.kind === 'alias') {
      const value = ctx.aliases.get(c.alias);
      if (value) out.push(value);
      else if (!ctx.aliasNames.has(c.alias)) {
        problems.transientError(obj.ref, `spec.communities[${i}]`, `community alias "${c.alias}" is not defined (yet); define it in a Community object, or write the value as "A:B" / "large:A:B:C"`);
      }
    }
  });
  return out;
}

/** Shortest prefix length of one address entry, by family (MetalLB compares per entry). */
function entryWidestPrefix(entry: string): { family: Family; prefix: number } | undefined {
  const parsed = parseAddressEntry(entry);
  if (!parsed.ok || parsed.cidrs.length === 0) return undefined;
  const first = parsed.cidrs[0] as (typeof parsed.cidrs)[number];
  return { family: first.family, prefix: Math.min(...parsed.cidrs.map((c) => c.prefix)) };
}

function checkAggregationAgainstPools(ad: BGPAdvertisement, ref: ObjectRef, pools: readonly Pool[], problems: ConfigProblems): void {
  for (const poolName of ad.pools) {
    const pool = pools.find((p) => p.name === poolName);
    if (!pool) continue;
    const reported = new Set<Family>();
    for (const entry of pool.addresses) {
      const widest = entryWidestPrefix(entry);
      if (!widest || reported.has(widest.family)) continue;
      const [length, field] = widest.family === 4 ? [ad.aggregationLength, 'spec.aggregationLength'] : [ad.aggregationLengthV6, 'spec.aggregationLengthV6'];
      if (length < widest.prefix) {
        reported.add(widest.family);
        problems.error(
          ref,
          field,
          `${field.slice('spec.'.length)} ${length} is shorter than prefix /${widest.prefix} of address entry "${entry}" in IPAddressPool "${pool.name}", so the aggregate would cover addresses outside the pool; use a length of at least ${widest.prefix}, or do not select this pool`,
        );
      }
    }
  }
}

export function buildBgpAdvertisements(
  objects: readonly ParsedObject<BGPAdvertisementSpec>[],
  ctx: BGPAdvertisementContext,
  problems: ConfigProblems,
): { ads: BGPAdvertisement[]; refs: Map<string, ObjectRef> } {
  const ads: BGPAdvertisement[] = [];
  const refs = new Map<string, ObjectRef>();
  for (const obj of objects) {
    const s = obj.spec;
    const before = problems.errors.length;
    const aggregationLength = s.aggregationLength ?? DEFAULT_AGGREGATION_LENGTH;
    const aggregationLengthV6 = s.aggregationLengthV6 ?? DEFAULT_AGGREGATION_LENGTH_V6;
    const serviceSelectors = (s.serviceSelectors ?? []).map(toLabelSelector);
    if (serviceSelectors.length > 0 && (aggregationLength !== DEFAULT_AGGREGATION_LENGTH || aggregationLengthV6 !== DEFAULT_AGGREGATION_LENGTH_V6)) {
      problems.error(
        obj.ref,
        'spec.serviceSelectors',
        `serviceSelectors cannot be combined with aggregation (aggregationLength ${aggregationLength}, aggregationLengthV6 ${aggregationLengthV6}); keep the defaults 32/128 or move the serviceSelectors to a separate BGPAdvertisement`,
      );
    }
    const communities = resolveCommunities(obj, ctx, problems);
    const ad: BGPAdvertisement = {
      name: obj.ref.name,
      pools: resolveAdvertisedPools(s.ipAddressPools ?? [], (s.ipAddressPoolSelectors ?? []).map(toLabelSelector), ctx.pools),
      aggregationLength,
      aggregationLengthV6,
      ...(s.localPref !== undefined && s.localPref !== 0 ? { localPref: s.localPref } : {}),
      communities,
      nodeSelectors: (s.nodeSelectors ?? []).map(toLabelSelector),
      peers: [...(s.peers ?? [])],
      serviceSelectors,
    };
    checkAggregationAgainstPools(ad, obj.ref, ctx.pools, problems);
    if (problems.errors.length !== before) continue;
    ads.push(ad);
    refs.set(ad.name, obj.ref);
  }
  return { ads, refs };
}

function nodesOf(ad: BGPAdvertisement, nodes: readonly NodeInput[]): Set<string> {
  return new Set(nodes.filter((n) => anySelectorMatches(ad.nodeSelectors, n.labels)).map((n) => n.name));
}

/**
 * MetalLB's LOCAL_PREF rule: two advertisements without serviceSelectors that target the same pool
 * must agree on localPref unless (i) their aggregation lengths differ for every family in the
 * pool, (ii) both name peers and the peer lists are disjoint, or (iii) their node sets are
 * disjoint. Without a node list, (iii) cannot be shown and is not used.
 */
export function checkLocalPrefConflicts(
  ads: readonly BGPAdvertisement[],
  refs: ReadonlyMap<string, ObjectRef>,
  pools: readonly Pool[],
  nodes: readonly NodeInput[] | undefined,
  problems: ConfigProblems,
): void {
  const reportedPairs = new Set<string>();
  const nodeSets = new Map<string, Set<string>>();
  const nodeSet = (ad: BGPAdvertisement) => {
    let s = nodeSets.get(ad.name);
    if (!s) nodeSets.set(ad.name, (s = nodesOf(ad, nodes ?? [])));
    return s;
  };
  for (const pool of pools) {
    const families = new Set(pool.cidrs.map((c) => c.family));
    const targeting = ads.filter((a) => a.serviceSelectors.length === 0 && a.pools.includes(pool.name));
    for (let j = 1; j < targeting.length; j++) {
      const b = targeting[j] as BGPAdvertisement;
      for (let i = 0; i < j; i++) {
        const a = targeting[i] as BGPAdvertisement;
        const prefA = a.localPref ?? 0;
        const prefB = b.localPref ?? 0;
        if (prefA === prefB) continue;
        const differentUpdates =
          (!families.has(4) || a.aggregationLength !== b.aggregationLength) &&
          (!families.has(6) || a.aggregationLengthV6 !== b.aggregationLengthV6);
        if (differentUpdates) continue;
        if (a.peers.length > 0 && b.peers.length > 0 && !a.peers.some((p) => b.peers.includes(p))) continue;
        if (nodes !== undefined) {
          const na = nodeSet(a);
          const nb = nodeSet(b);
          if (![...na].some((n) => nb.has(n))) continue;
        }
        const pair = `${a.name}\u0000${b.name}`;
        if (reportedPairs.has(pair)) continue;
        reportedPairs.add(pair);
        const ref = refs.get(b.name) ?? { kind: 'BGPAdvertisement', name: b.name };
        problems.error(
          ref,
          'spec.localPref',
          `localPref ${prefB} conflicts with localPref ${prefA} of BGPAdvertisement "${a.name}" for the same prefixes of IPAddressPool "${pool.name}" (same aggregation length, overlapping peers and nodes); use the same localPref, or make the advertisements differ in aggregation length, peers or nodeSelectors`,
        );
      }
    }
  }
}

