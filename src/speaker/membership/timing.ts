// Membership protocol parameters. The defaults are tuned for issue 3: a silent node loss is
// noticed in < 1 s p99 while a speaker paused for <= ~500 ms is never declared dead.
// docs/membership.md explains each choice.

export interface MembershipTiming {
  /** The adapter calls tick() this often; also the resolution of every deadline below. */
  readonly tickMs: number;
  /** A new probe (ping of the next member in a shuffled round-robin) starts this often. */
  readonly probeIntervalMs: number;
  /** No direct ack after this long => ask `indirectChecks` members to ping the target for us. */
  readonly directAckTimeoutMs: number;
  /** No ack, direct or relayed, after this long => the target becomes suspect. */
  readonly probeTimeoutMs: number;
  readonly indirectChecks: number;
  /** Suspect -> dead after this long once `suspicionConfirmations` other members also suspect (Lifeguard). */
  readonly suspicionMinMs: number;
  /** Suspect -> dead after this long with no independent confirmation. */
  readonly suspicionMaxMs: number;
  readonly suspicionConfirmations: number;
  /** Each update is sent retransmitMult * ceil(log10(members + 1)) times (piggy-backed or gossiped). */
  readonly retransmitMult: number;
  /** Pending updates are also pushed to `gossipFanout` random members this often. */
  readonly gossipIntervalMs: number;
  readonly gossipFanout: number;
  /**
   * A gap longer than this between two calls into the core means our own event loop stalled
   * (GC, CPU throttling): the lost time is not counted against other members, and the view is
   * stale until a member answers a re-sync.
   */
  readonly stallThresholdMs: number;
  /** After a stall the view turns fresh again on the first re-sync answer, or after this long without one. */
  readonly resyncTimeoutMs: number;
  /** Before the first answer from a seed the view is stale ("joining"); it turns fresh after this long alone. */
  readonly joinTimeoutMs: number;
  /** First retry of an unanswered seed; doubles up to reconnectIntervalMs. */
  readonly joinRetryMs: number;
  /** Seeds and dead members are re-contacted this often, which heals partitions. */
  readonly reconnectIntervalMs: number;
  /** Full-state exchange with one random member this often (anti-entropy). */
  readonly pushPullIntervalMs: number;
  /** Dead members are remembered this long so stale "alive" gossip cannot bring them back. */
  readonly deadRetentionMs: number;
  /** Datagrams stamped further than this from our clock are dropped (replay of old captures, clock skew bound). */
  readonly maxClockSkewMs: number;
  /** Upper bound of one datagram (records beyond it wait for the next one). */
  readonly maxDatagramBytes: number;
}

export const DEFAULT_TIMING: MembershipTiming = Object.freeze({
  tickMs: 10,
  probeIntervalMs: 100,
  directAckTimeoutMs: 40,
  probeTimeoutMs: 120,
  indirectChecks: 3,
  suspicionMinMs: 500,
  suspicionMaxMs: 600,
  suspicionConfirmations: 3,
  retransmitMult: 4,
  gossipIntervalMs: 50,
  gossipFanout: 3,
  stallThresholdMs: 60,
  resyncTimeoutMs: 300,
  joinTimeoutMs: 1_000,
  joinRetryMs: 100,
  reconnectIntervalMs: 2_000,
  pushPullIntervalMs: 5_000,
  deadRetentionMs: 600_000,
  maxClockSkewMs: 15_000,
  maxDatagramBytes: 1_400,
});

/** Defaults overridden by `overrides`; throws naming the field when the combination cannot work. */
export function resolveTiming(overrides: Partial<MembershipTiming> = {}): MembershipTiming {
  const t: MembershipTiming = { ...DEFAULT_TIMING, ...overrides };
  for (const [k, v] of Object.entries(t)) {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new Error(`membership timing: ${k} must be a non-negative number, got ${String(v)}`);
  }
  const need = (ok: boolean, msg: string) => {
    if (!ok) throw new Error(`membership timing: ${msg}`);
  };
  need(t.tickMs > 0, 'tickMs must be > 0');
  need(t.probeIntervalMs >= t.tickMs, 'probeIntervalMs must be >= tickMs');
  need(t.directAckTimeoutMs > 0 && t.directAckTimeoutMs < t.probeTimeoutMs, 'directAckTimeoutMs must be > 0 and below probeTimeoutMs (indirect probes need time)');
  need(t.suspicionMinMs > 0 && t.suspicionMinMs <= t.suspicionMaxMs, 'suspicionMinMs must be > 0 and <= suspicionMaxMs');
  need(t.stallThresholdMs > t.tickMs, 'stallThresholdMs must exceed tickMs, or every tick counts as a stall');
  need(t.maxDatagramBytes >= 512 && t.maxDatagramBytes <= 65_000, 'maxDatagramBytes must be within 512..65000');
  need(Number.isInteger(t.indirectChecks) && Number.isInteger(t.gossipFanout) && Number.isInteger(t.suspicionConfirmations), 'indirectChecks, gossipFanout and suspicionConfirmations must be integers');
  return Object.freeze(t);
}
