// Updates waiting to be disseminated (SWIM's piggy-backing). One entry per member: a newer
// update about a member replaces the older one. Least-sent entries go first, and each entry
// retires after `limit` transmissions, so an update reaches everyone in O(log n) rounds while a
// quiet cluster sends no gossip at all.
import type { MemberRecord } from './codec.js';

interface Entry {
  record: MemberRecord;
  transmits: number;
  /** Insertion order breaks ties: among equally-sent entries the newest goes first. */
  order: number;
}

export class GossipQueue {
  private readonly entries = new Map<string, Entry>();
  private counter = 0;

  enqueue(record: MemberRecord): void {
    this.entries.set(record.name, { record, transmits: 0, order: ++this.counter });
  }

  get size(): number {
    return this.entries.size;
  }

  /**
   * Offers entries, least transmitted first, to `accept` (which returns false when the datagram
   * is full); accepted entries count one transmission and retire at `limit`.
   */
  drain(limit: number, accept: (r: MemberRecord) => boolean, skip?: (r: MemberRecord) => boolean): void {
    if (this.entries.size === 0) return;
    const ordered = [...this.entries.values()].sort((a, b) => a.transmits - b.transmits || b.order - a.order);
    for (const e of ordered) {
      if (skip?.(e.record)) continue;
      if (!accept(e.record)) break;
      e.transmits++;
      if (e.transmits >= limit) this.entries.delete(e.record.name);
    }
  }

  clear(): void {
    this.entries.clear();
  }
}
