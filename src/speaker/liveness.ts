// Who is alive, as the election needs it. Either the gossip membership (src/speaker/membership)
// or, when it is disabled (no key), MetalLB's fallback: every node that is Ready.
import type { V1Node } from '@kubernetes/client-node';
import type { MemberState } from './membership/codec.js';

export interface Liveness {
  alive(): ReadonlySet<string>;
  onChange(cb: () => void): void;
  /** Resolves once the view is good enough to act on (membership converged, or a timeout). */
  ready(): Promise<void>;
  /** True while the view cannot be trusted (just joined, or our own event loop stalled): keep the current announcements. */
  stale?(): boolean;
  /** The Node list changed (new seeds for gossip). */
  nodesChanged?(): void;
  /**
   * Nodes positively known to be gone (gossip: declared dead or left; fallback: Node not Ready).
   * Unlike "not in alive()", this excludes nodes a freshly started speaker has not heard of yet.
   */
  gone?(): ReadonlySet<string>;
  /**
   * Gossip only: how many times others held this node suspect, dead or gone and it refuted. A
   * death is always preceded by suspicion, and the node may learn only of one of the two (its
   * refutation of the suspicion can overtake the death), so every refutation counts: the others
   * may have taken its IPs meanwhile.
   */
  refutations?(): number;
  /** Gossip only: the last state of every member heard of (for the partition guard, partition.ts). */
  memberStates?(): ReadonlyMap<string, MemberState>;
  /** Graceful exit: tell peers we are gone (gossip only). */
  leave?(): Promise<void>;
  stop(): void;
}

/** Fallback without gossip: a node is alive while its Ready condition is True. */
export class NodeReadinessLiveness implements Liveness {
  private readonly listeners: (() => void)[] = [];
  private last = '';

  constructor(private readonly nodes: () => V1Node[]) {}

  alive(): ReadonlySet<string> {
    const set = new Set<string>();
    for (const n of this.nodes()) {
      const ready = (n.status?.conditions ?? []).find((c) => c.type === 'Ready');
      if (ready?.status === 'True') set.add(n.metadata?.name ?? '');
    }
    const text = [...set].sort().join(',');
    if (text !== this.last) {
      this.last = text;
      queueMicrotask(() => this.listeners.forEach((l) => l()));
    }
    return set;
  }

  onChange(cb: () => void): void {
    this.listeners.push(cb);
  }

  gone(): ReadonlySet<string> {
    const set = new Set<string>();
    for (const n of this.nodes()) {
      const ready = (n.status?.conditions ?? []).find((c) => c.type === 'Ready');
      if (ready && ready.status !== 'True') set.add(n.metadata?.name ?? '');
    }
    return set;
  }

  async ready(): Promise<void> {}

  stop(): void {}
}
