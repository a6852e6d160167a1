// metallb.io CRs -> one immutable Config. Atomic like MetalLB's config.For(): either the whole
// set is valid, or the caller gets every error found (and keeps its last good Config).
import { buildL2Advertisements, buildBgpAdvertisements, checkLocalPrefConflicts } from './advertisementConfig.js';
import { buildBfdProfiles, checkBfdEchoOverIPv6 } from './bfdConfig.js';
import { buildCommunityAliases } from './communityConfig.js';
import { deepFreeze, FrozenMap } from './deepFreeze.js';
import type { Config, ConfigError } from './model.js';
import { readObjects } from './parsedObject.js';
import { buildPeers } from './peerConfig.js';
import { buildPools, checkPoolOverlaps } from './poolConfig.js';
import { ConfigProblems } from './problems.js';
import type { ConfigResources } from './resources.js';

export type { ConfigResources, NodeInput, SecretInput } from './resources.js';

export type ParseOutcome =
  | { ok: true; config: Config; warnings: ConfigError[] }
  | { ok: false; errors: ConfigError[]; warnings: ConfigError[] };

function namesOf(raws: readonly unknown[]): Set<string> {
  const names = new Set<string>();
  for (const raw of raws) {
    const name = (raw as { metadata?: { name?: unknown } } | null)?.metadata?.name;
    if (typeof name === 'string') names.add(name);
  }
  return names;
}

function aliasNamesOf(raws: readonly unknown[]): Set<string> {
  const names = new Set<string>();
  for (const raw of raws) {
    const list = (raw as { spec?: { communities?: unknown } } | null)?.spec?.communities;
    if (!Array.isArray(list)) continue;
    for (const entry of list) {
      const name = (entry as { name?: unknown } | null)?.name;
      if (typeof name === 'string') names.add(name);
    }
  }
  return names;
}

/** Atomic: either the whole set is valid and you get one frozen Config, or you get every error found. */
export function parseConfig(resources: ConfigResources): ParseOutcome {
  const problems = new ConfigProblems();

  const poolObjects = readObjects('IPAddressPool', resources.pools, problems);
  const l2Objects = readObjects('L2Advertisement', resources.l2Advertisements, problems);
  const bgpAdObjects = readObjects('BGPAdvertisement', resources.bgpAdvertisements, problems);
  const peerObjects = readObjects('BGPPeer', resources.bgpPeers, problems);
  const bfdObjects = readObjects('BFDProfile', resources.bfdProfiles, problems);
  const communityObjects = readObjects('Community', resources.communities, problems);

  checkPoolOverlaps(resources.pools, problems);
  const pools = buildPools(poolObjects);
  const bfdProfiles = buildBfdProfiles(bfdObjects);
  const aliases = buildCommunityAliases(communityObjects, problems);
  const peers = buildPeers(
    peerObjects,
    { bfdProfileNames: namesOf(resources.bfdProfiles), secrets: resources.secrets },
    problems,
  );
  const l2Advertisements = buildL2Advertisements(l2Objects, pools);
  const { ads: bgpAdvertisements, refs } = buildBgpAdvertisements(
    bgpAdObjects,
    { pools, aliases, aliasNames: aliasNamesOf(resources.communities) },
    problems,
  );
  checkLocalPrefConflicts(bgpAdvertisements, refs, pools, resources.nodes, problems);

  const poolMap = new FrozenMap(pools.map((p) => [p.name, p] as const));
  const bfdMap = new FrozenMap(bfdProfiles.map((p) => [p.name, p] as const));
  checkBfdEchoOverIPv6(peers, bfdMap, bgpAdvertisements, poolMap, problems);

  if (problems.errors.length > 0) return { ok: false, errors: problems.errors, warnings: problems.warnings };
  const config: Config = {
    pools: poolMap,
    l2Advertisements,
    bgpAdvertisements,
    peers,
    bfdProfiles: bfdMap,
    communities: new FrozenMap(aliases),
  };
  return { ok: true, config: deepFreeze(config), warnings: problems.warnings };
}
