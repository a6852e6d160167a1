// Drops authenticated datagrams that were already accepted once, or that come from an older run
// of the sender: a captured datagram replayed later cannot resurrect a dead node or fake an ack.
//
// Per sender we keep the newest process start time (bootAt) seen and, for that process, the
// highest datagram counter plus a 64-bit window of counters below it (IPsec-style anti-replay).
// A receiver that restarted has no memory, so the sender's clock stamp must also be within
// maxClockSkewMs of ours: old captures are refused whatever the receiver remembers.

export type ReplayVerdict = 'ok' | 'stale' | 'replay';

interface SenderWindow {
  bootAt: number;
  highest: number;
  /** Bit i set = counter (highest - i) seen; bit 0 is `highest` itself. */
  seen: bigint;
  lastAcceptedAt: number;
}

const WINDOW = 64;
const FULL = (1n << 64n) - 1n;

export class ReplayGuard {
  private readonly senders = new Map<string, SenderWindow>();

  constructor(private readonly maxClockSkewMs: number) {}

  check(sender: string, sentAt: number, bootAt: number, seq: number, now: number): ReplayVerdict {
    if (Math.abs(now - sentAt) > this.maxClockSkewMs) return 'stale';
    const w = this.senders.get(sender);
    if (w === undefined || bootAt > w.bootAt) {
      this.senders.set(sender, { bootAt, highest: seq, seen: 1n, lastAcceptedAt: now });
      return 'ok';
    }
    if (bootAt < w.bootAt) return 'replay';
    if (seq > w.highest) {
      const shift = seq - w.highest;
      w.seen = shift >= WINDOW ? 1n : ((w.seen << BigInt(shift)) | 1n) & FULL;
      w.highest = seq;
    } else {
      const back = w.highest - seq;
      if (back >= WINDOW) return 'replay';
      const bit = 1n << BigInt(back);
      if (w.seen & bit) return 'replay';
      w.seen |= bit;
    }
    w.lastAcceptedAt = now;
    return 'ok';
  }

  /** Forgets senders quiet for longer than the freshness window (their old datagrams are refused as stale anyway). */
  prune(now: number): void {
    for (const [name, w] of this.senders) {
      if (now - w.lastAcceptedAt > 2 * this.maxClockSkewMs) this.senders.delete(name);
    }
  }

  get size(): number {
    return this.senders.size;
  }
}
