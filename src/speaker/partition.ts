// Pure: is this speaker on the losing side of a gossip partition? MetalLB answers from both sides
// of a split (spec 4.3 point 8): each side sees the other dead and claims its IPs, so clients see
// two owners for as long as the split lasts. A speaker that no longer hears ANY other speaker it
// knows, while the API server says at least two of them are Ready, is almost certainly the cut-off
// one: it stops announcing, and the side that still hears itself takes over alone.
// The cost: if two or more nodes really die at once, the survivor serves nothing until their Node
// objects turn NotReady (kubelet's ~40 s), instead of serving everything at once.
import type { MemberState } from './membership/codec.js';

export interface PartitionView {
  readonly self: string;
  /** The gossip state of every other speaker this node has heard of (left = graceful exit, not counted). */
  readonly peers: ReadonlyMap<string, MemberState>;
  /** Nodes whose Ready condition is True in the API server. */
  readonly readyNodes: ReadonlySet<string>;
}

/** Ready peers needed before "I hear nobody" means "I am cut off" (two: a one-peer cluster cannot tell). */
export const MIN_READY_PEERS_FOR_ISOLATION = 2;

export function isolatedFromPeers(v: PartitionView): boolean {
  let readyPeers = 0;
  for (const [name, state] of v.peers) {
    if (name === v.self || state === 'left') continue;
    // Suspect counts as unheard: on the cut-off node every peer turns suspect within one probe
    // round, before the first is declared dead, so no peer's IPs are claimed in between.
    if (state === 'alive') return false;
    if (v.readyNodes.has(name)) readyPeers++;
  }
  return readyPeers >= MIN_READY_PEERS_FOR_ISOLATION;
}
