// Chooses how the speaker learns who is alive: gossip when the memberlist key Secret exists
// (MetalLB's default), Node readiness otherwise.
import type { V1Node } from '@kubernetes/client-node';
import type { MemberState } from './membership/codec.js';
import type { Logger } from 'pino';
import type { MembershipEvent } from './membership/core.js';
import { GossipThread } from './membership/gossipThread.js';
import { NodeReadinessLiveness, type Liveness } from './liveness.js';

export interface LivenessSetup {
  readonly nodeName: string;
  readonly log: Logger;
  readonly nodes: () => V1Node[];
  readonly secretData: (name: string) => Record<string, string> | undefined;
  readonly secretName: string;
  readonly bindAddr?: string;
  readonly bindPort: number;
  /** Every gossip membership event (metrics); not called with Node-readiness liveness. */
  readonly onMembershipEvent?: (e: MembershipEvent) => void;
}

export function internalIp(node: V1Node | undefined): string | undefined {
  const addrs = (node?.status?.addresses ?? []).filter((a) => a.type === 'InternalIP').map((a) => a.address);
  return addrs.find((a) => !a.includes(':')) ?? addrs[0];
}

export async function makeLiveness(setup: LivenessSetup): Promise<Liveness> {
  const { log } = setup;
  const encoded = setup.secretName ? setup.secretData(setup.secretName)?.secretkey : undefined;
  const key = encoded ? Buffer.from(encoded, 'base64') : undefined;
  if (!key || key.length < 16) {
    log.warn({ secret: setup.secretName }, 'no gossip key (Secret missing or key shorter than 16 bytes): falling back to Node readiness for liveness, which reacts far slower to node loss');
    return new NodeReadinessLiveness(setup.nodes);
  }
  const self = setup.nodes().find((n) => n.metadata?.name === setup.nodeName);
  const bindAddress = setup.bindAddr ?? internalIp(self);
  if (!bindAddress) throw new Error(`node "${setup.nodeName}" has no InternalIP to bind the gossip to; pass --ml-bind-addr`);
  const seeds = () => setup.nodes().filter((n) => n.metadata?.name !== setup.nodeName).map(internalIp).filter((a): a is string => a !== undefined);
  // Its own thread, so a busy speaker still acks probes on time (gossipThread.ts).
  const gossip = await GossipThread.start({
    nodeName: setup.nodeName, bindAddress, port: setup.bindPort, key, seeds: seeds(),
    onError: (err) => log.warn({ err: err.message }, 'gossip membership error'),
  });
  log.info({ bindAddress, port: setup.bindPort }, 'gossip membership started');
  if (setup.onMembershipEvent) gossip.onChange(setup.onMembershipEvent);
  return new GossipLiveness(gossip, seeds, log);
}

class GossipLiveness implements Liveness {
  constructor(private readonly gossip: GossipThread, private readonly seeds: () => string[], private readonly log: Logger) {}

  alive(): ReadonlySet<string> {
    return this.gossip.aliveNodes();
  }

  stale(): boolean {
    return this.gossip.isViewStale();
  }

  gone(): ReadonlySet<string> {
    return this.gossip.goneNodes();
  }

  refutations(): number {
    return this.gossip.refutations();
  }

  memberStates(): ReadonlyMap<string, MemberState> {
    return this.gossip.memberStatesView();
  }

  onChange(cb: () => void): void {
    this.gossip.onChange((e) => {
      // Who declared whom dead (or alive again) is what an operator needs after a failover.
      this.log.info({ event: e }, 'membership changed');
      cb();
    });
  }

  ready(): Promise<void> {
    return this.gossip.ready();
  }

  nodesChanged(): void {
    this.gossip.setSeeds(this.seeds());
  }

  leave(): Promise<void> {
    return this.gossip.leave();
  }

  stop(): void {
    this.gossip.close();
  }
}
