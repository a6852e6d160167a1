// Speaker metrics under MetalLB's names (spec/metallb.md 5.5), plus ironlb's own (prefix
// ironlb_, so they never collide with a MetalLB series): takeovers, announce latency, membership.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { MembershipEvent } from './membership/core.js';

/** Why this node started answering for an IP (ironlb_speaker_takeovers_total{reason}). */
export type TakeoverReason = 'ownerLeft' | 'moved' | 'newlyAssigned' | 'startup';

/** Seconds buckets for sub-second actions (announce) and for failure detection (seconds). */
const ANNOUNCE_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
const DETECTION_BUCKETS = [0.25, 0.5, 1, 2, 3, 5, 7.5, 10, 15, 30, 60];

export interface Layer2Counters {
  readonly requestsReceived: number;
  readonly responsesSent: number;
  readonly gratuitousSent: number;
}

export class SpeakerMetrics {
  readonly registry = new Registry();
  readonly configLoaded = new Gauge({ name: 'metallb_k8s_client_config_loaded_bool', help: '1 if the configuration has been loaded at least once.', registers: [this.registry] });
  readonly configStale = new Gauge({ name: 'metallb_k8s_client_config_stale_bool', help: '1 if running on a stale configuration, because the latest config failed to load.', registers: [this.registry] });
  readonly updates = new Counter({ name: 'metallb_k8s_client_updates_total', help: 'Number of k8s object updates that have been processed.', registers: [this.registry] });
  private readonly announced = new Gauge({ name: 'metallb_speaker_announced', help: 'Services being announced from this node. This is desired state, it does not guarantee that the routing protocols have converged.', labelNames: ['service', 'protocol', 'node', 'ip'], registers: [this.registry] });
  /** Series currently set, per protocol. */
  private readonly announcedKeys = new Map<string, Set<string>>();
  readonly announceLatency = new Histogram({
    name: 'ironlb_speaker_announce_latency_seconds',
    help: 'Time from the reconcile pass that made this node the owner of a layer-2 IP to the first gratuitous ARP/NA for it handed to a socket.',
    buckets: ANNOUNCE_BUCKETS, registers: [this.registry],
  });
  readonly takeovers = new Counter({
    name: 'ironlb_speaker_takeovers_total',
    help: 'Layer-2 IPs this node started answering for, by reason: ownerLeft (the previous owner left the membership), moved (the previous owner is alive), newlyAssigned (nobody owned it), startup (first pass of this process).',
    labelNames: ['reason'], registers: [this.registry],
  });
  readonly memberStateChanges = new Counter({
    name: 'ironlb_membership_member_state_changes_total',
    help: 'Gossip member state changes seen by this node, by new state (alive, suspect, dead, left).',
    labelNames: ['to'], registers: [this.registry],
  });
  readonly detection = new Histogram({
    name: 'ironlb_membership_detection_seconds',
    help: 'Failure detection time: from the first suspicion of a member this node saw to the member being declared dead.',
    buckets: DETECTION_BUCKETS, registers: [this.registry],
  });
  /** Layer-2 owner per IP from the last pass (undefined before the first pass). */
  private owners: ReadonlyMap<string, string | undefined> | undefined;
  /** IPs this node took over, waiting for their first gratuitous frame: ip -> pass start (now() clock). */
  private readonly pendingAnnounce = new Map<string, number>();
  /** Member -> when this node first saw it suspect (membership clock, ms). */
  private readonly suspectedAt = new Map<string, number>();
  private readonly now: () => number;

  constructor(layer2: () => ReadonlyMap<string, Layer2Counters>, opts: { now?: () => number } = {}) {
    this.now = opts.now ?? (() => performance.now());
    for (const reason of ['ownerLeft', 'moved', 'newlyAssigned', 'startup'] satisfies TakeoverReason[]) this.takeovers.inc({ reason }, 0);
    const reg = this.registry;
    const perIp = (name: string, help: string, pick: (c: Layer2Counters) => number) =>
      new Counter({
        name, help, labelNames: ['ip'], registers: [reg],
        collect() {
          this.reset();
          for (const [ip, c] of layer2()) this.inc({ ip }, pick(c));
        },
      });
    perIp('metallb_layer2_requests_received', 'Number of layer2 requests received for owned IPs', (c) => c.requestsReceived);
    perIp('metallb_layer2_responses_sent', 'Number of layer2 responses sent for owned IPs', (c) => c.responsesSent);
    perIp('metallb_layer2_gratuitous_sent', 'Number of gratuitous layer2 packets sent for owned IPs', (c) => c.gratuitousSent);
  }

  /** Replaces one protocol's announced set; series of withdrawn IPs are deleted (MetalLB #1972: no stale series). */
  setAnnounced(node: string, protocol: 'layer2' | 'bgp', services: readonly { service: string; ips: readonly string[] }[]): void {
    const next = new Set<string>();
    const previous = this.announcedKeys.get(protocol) ?? new Set<string>();
    for (const s of services) {
      for (const ip of s.ips) {
        const labels = { service: s.service, protocol, node, ip };
        const key = JSON.stringify(labels);
        next.add(key);
        if (!previous.has(key)) this.announced.set(labels, 1);
      }
    }
    for (const k of previous) if (!next.has(k)) this.announced.remove(JSON.parse(k) as Record<string, string>);
    this.announcedKeys.set(protocol, next);
  }

  /**
   * One layer-2 pass: `owners` maps every Service IP to the node elected to answer for it
   * (undefined: nobody). IPs that became ours are counted as takeovers and wait for their first
   * gratuitous frame (gratuitousSent) to observe the announce latency from `passStartedAt`.
   */
  noteLayer2Owners(self: string, owners: ReadonlyMap<string, string | undefined>, alive: ReadonlySet<string>, passStartedAt: number): void {
    const before = this.owners;
    for (const [ip, owner] of owners) {
      if (owner !== self) continue;
      const previous = before?.get(ip);
      if (previous === self) continue;
      const reason: TakeoverReason = before === undefined ? 'startup' : previous === undefined ? 'newlyAssigned' : alive.has(previous) ? 'moved' : 'ownerLeft';
      this.takeovers.inc({ reason });
      this.pendingAnnounce.set(ip, passStartedAt);
    }
    for (const ip of this.pendingAnnounce.keys()) if (owners.get(ip) !== self) this.pendingAnnounce.delete(ip);
    this.owners = new Map(owners);
  }

  /** The announcer handed a gratuitous ARP/NA for `ip` to a socket (src/speaker/l2/announcer.ts onGratuitous). */
  gratuitousSent(ip: string): void {
    const seenAt = this.pendingAnnounce.get(ip);
    if (seenAt === undefined) return;
    this.pendingAnnounce.delete(ip);
    this.announceLatency.observe(Math.max(0, this.now() - seenAt) / 1000);
  }

  /** Events of the gossip membership (mirrored from its thread; `at` is the membership's clock). */
  noteMembershipEvent(e: MembershipEvent): void {
    if (e.kind !== 'member') return;
    this.memberStateChanges.inc({ to: e.to });
    if (e.to === 'suspect') {
      if (!this.suspectedAt.has(e.name)) this.suspectedAt.set(e.name, e.at);
    } else {
      const since = this.suspectedAt.get(e.name);
      this.suspectedAt.delete(e.name);
      if (e.to === 'dead' && since !== undefined) this.detection.observe(Math.max(0, e.at - since) / 1000);
    }
  }
}
