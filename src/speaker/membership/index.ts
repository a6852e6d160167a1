// Speaker membership: who is alive among the speakers (SWIM gossip over UDP, HMAC-authenticated).
export { MembershipCore } from './core.js';
export type { Datagram, MemberState, MemberView, MembershipCoreOptions, MembershipEvent, MembershipStats, PeerAddress, DroppedReason } from './core.js';
export { GossipMembership, DEFAULT_GOSSIP_PORT, parseSeeds } from './gossipMembership.js';
export type { GossipMembershipOptions } from './gossipMembership.js';
export { DEFAULT_TIMING, resolveTiming } from './timing.js';
export type { MembershipTiming } from './timing.js';
export { GossipThread } from './gossipThread.js';
