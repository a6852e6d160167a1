// BFDProfile objects -> BFDProfile models with FRR's defaults for unset fields (MetalLB passes
// unset fields through to FRR, whose defaults these are).
import type { BFDProfile, BGPAdvertisement, BGPPeer, Pool } from './model.js';
import type { ParsedObject } from './parsedObject.js';
import type { ConfigProblems } from './problems.js';
import { BFD_DEFAULTS, type BFDProfileSpec } from './schemas.js';

export function buildBfdProfiles(objects: readonly ParsedObject<BFDProfileSpec>[]): BFDProfile[] {
  return objects.map(({ ref, spec }) => ({
    name: ref.name,
    receiveInterval: spec.receiveInterval ?? BFD_DEFAULTS.receiveInterval,
    transmitInterval: spec.transmitInterval ?? BFD_DEFAULTS.transmitInterval,
    detectMultiplier: spec.detectMultiplier ?? BFD_DEFAULTS.detectMultiplier,
    echoInterval: spec.echoInterval ?? BFD_DEFAULTS.echoInterval,
    echoMode: spec.echoMode ?? false,
    passiveMode: spec.passiveMode ?? false,
    minimumTtl: spec.minimumTtl ?? BFD_DEFAULTS.minimumTtl,
  }));
}

/**
 * BFD echo mode cannot run over IPv6 (MetalLB rejects a profile with echoMode used by a peer that
 * receives advertisements of an IPv6 pool).
 */
export function checkBfdEchoOverIPv6(
  peers: readonly BGPPeer[],
  profiles: ReadonlyMap<string, BFDProfile>,
  ads: readonly BGPAdvertisement[],
  pools: ReadonlyMap<string, Pool>,
  problems: ConfigProblems,
): void {
  for (const peer of peers) {
    const profile = peer.bfdProfile === undefined ? undefined : profiles.get(peer.bfdProfile);
    if (!profile?.echoMode) continue;
    for (const ad of ads) {
      if (ad.peers.length > 0 && !ad.peers.includes(peer.name)) continue;
      const v6Pool = ad.pools.find((name) => pools.get(name)?.cidrs.some((c) => c.family === 6));
      if (v6Pool === undefined) continue;
      problems.error(
        { kind: 'BGPPeer', name: peer.name },
        'spec.bfdProfile',
        `BFDProfile "${profile.name}" has echoMode enabled, but this peer receives IPv6 addresses of IPAddressPool "${v6Pool}" (via BGPAdvertisement "${ad.name}") and BFD echo does not work over IPv6; disable echoMode or keep IPv6 pools away from this peer (BGPAdvertisement spec.peers)`,
      );
      break;
    }
  }
}
