// Every fuzz target, in report order.
import type { FuzzTarget } from './target.js';
import { arpTarget, ndpTarget } from './targets/l2.js';
import { bgpAttributesTarget, bgpCapabilitiesTarget, bgpFramerTarget, bgpFsmTarget, bgpMessageTarget, bgpNlriTarget } from './targets/bgp.js';
import { bfdTarget } from './targets/bfd.js';
import { gossipCodecTarget, gossipCoreTarget } from './targets/gossip.js';
import { ovsdbDatumTarget, ovsdbReplicaTarget, ovsdbRpcTarget, ovsdbStreamTarget } from './targets/ovsdb.js';
import { configCrTarget, configLegacyTarget } from './targets/config.js';

export const TARGETS: readonly FuzzTarget<any>[] = [
  arpTarget,
  ndpTarget,
  bgpMessageTarget,
  bgpFramerTarget,
  bgpAttributesTarget,
  bgpCapabilitiesTarget,
  bgpNlriTarget,
  bgpFsmTarget,
  bfdTarget,
  gossipCodecTarget,
  gossipCoreTarget,
  ovsdbStreamTarget,
  ovsdbRpcTarget,
  ovsdbDatumTarget,
  ovsdbReplicaTarget,
  configCrTarget,
  configLegacyTarget,
];
