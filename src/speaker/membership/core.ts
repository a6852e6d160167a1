// Who is alive among the speakers: a SWIM failure detector (Das, Gupta, Motivala 2002) with
// Lifeguard's buddy system and confirmation-scaled suspicion timeouts, as a pure state machine.
// No sockets and no timers: the caller feeds the clock and received datagrams in and sends what
// comes out (GossipMembership does that over UDP; SimulatedCluster does it in tests).
//
// Member states follow SWIM: alive -> suspect (a probe went unanswered, directly and through
// `indirectChecks` helpers) -> dead (nobody refuted within the suspicion timeout). A member
// learning it is suspected or dead refutes by raising its incarnation. Updates ride on every
// datagram (piggy-backing) and on small gossip rounds. A node that notices its own event loop
// stalled does not count the lost time against others and marks its view stale until a member
// answers a re-sync (docs/membership.md).
import {
  DatagramWriter,
  MessageType,
  decodeDatagram,
  deriveMacKey,
  type DecodedMessage,
  type DropReason,
  type MemberRecord,
  type MemberState,
  type MessageBody,
} from './codec.js';
import { GossipQueue } from './gossipQueue.js';
import { ReplayGuard } from './replayGuard.js';
import { resolveTiming, type MembershipTiming } from './timing.js';

export type { MemberState } from './codec.js';

export interface PeerAddress {
  readonly address: string;
  readonly port: number;
}

export interface Datagram extends PeerAddress {
  readonly bytes: Buffer;
}

export interface MembershipCoreOptions {
  /** This member's name: the Kubernetes node name (MetalLB uses the node name too). */
  readonly nodeName: string;
  /** Where the others reach us (the node's InternalIP and the gossip port). */
  readonly address: string;
  readonly port: number;
  /** Shared secret (>= 16 bytes), e.g. MetalLB's Secret "memberlist". */
  readonly key: Uint8Array;
  /** Other nodes' addresses to join through; more can be given later with setSeeds(). */
  readonly seeds?: readonly PeerAddress[];
  readonly timing?: Partial<MembershipTiming>;
  /** Uniform [0, 1); inject a seeded generator for reproducible runs. */
  readonly random?: () => number;
}

export interface MemberView {
  readonly name: string;
  readonly address: string;
  readonly port: number;
  readonly incarnation: number;
  readonly state: MemberState;
  /** When this node last saw the state change. */
  readonly since: number;
}

export type MembershipEvent =
  | { readonly kind: 'member'; readonly name: string; readonly from: MemberState | undefined; readonly to: MemberState; readonly incarnation: number; readonly at: number }
  | { readonly kind: 'view'; readonly stale: boolean; readonly reason: 'joining' | 'stalled' | 'synced' | 'timeout' | 'alone'; readonly stalledMs?: number; readonly at: number }
  // We heard that others hold us `claimed` (suspect, dead, left, or an incarnation of ours we never had) and refuted it.
  | { readonly kind: 'refuted'; readonly claimed: MemberState; readonly from: string; readonly incarnation: number; readonly at: number };

export type DroppedReason = DropReason | 'stale' | 'replay' | 'misdirected' | 'ownName';

export interface MembershipStats {
  datagramsSent: number;
  bytesSent: number;
  datagramsReceived: number;
  bytesReceived: number;
  dropped: Record<DroppedReason, number>;
  probes: number;
  indirectProbes: number;
  probeFailures: number;
  suspicionsRaised: number;
  deathsDeclared: number;
  refutations: number;
  stalls: number;
  maxStallMs: number;
  listenerErrors: number;
}

interface Member {
  name: string;
  address: string;
  port: number;
  incarnation: number;
  state: MemberState;
  since: number;
  suspicion?: { startedAt: number; deadline: number; confirmers: Set<string> };
}

interface Probe {
  target: string;
  directDeadline: number;
  deadline: number;
  indirectSent: boolean;
}

interface Relay {
  prober: PeerAddress;
  proberName: string;
  proberProbe: number;
  expiresAt: number;
}

const RANK: Record<MemberState, number> = { alive: 0, suspect: 1, dead: 2, left: 2 };
const U32 = 0xffffffff;
/** Deaths are sent directly to at most this many members; gossip reaches the rest. */
const BROADCAST_LIMIT = 64;

export class MembershipCore {
  readonly name: string;
  readonly timing: MembershipTiming;
  private readonly address: string;
  private readonly port: number;
  private readonly macKey: Buffer;
  private readonly random: () => number;

  private started = false;
  private bootAt = 0;
  private now = 0;
  private lastEntryAt: number | undefined;
  private incarnation = 0;
  private left = false;
  private datagramSeq = 0;
  private probeSeq = 0;

  private readonly members = new Map<string, Member>();
  private probeOrder: string[] = [];
  private probeIndex = 0;
  private readonly probes = new Map<number, Probe>();
  private readonly relays = new Map<number, Relay>();
  private readonly gossip = new GossipQueue();
  private readonly replay: ReplayGuard;

  private seeds: PeerAddress[] = [];
  private readonly retry = new Map<string, { nextAt: number; backoff: number }>();
  /** sentAt of the last SyncRequest answered, per sender. */
  private readonly syncAnswered = new Map<string, number>();
  private joined = false;

  private nextProbeAt = 0;
  private nextGossipAt = 0;
  private nextPushPullAt = 0;
  private nextHousekeepingAt = 0;
  private stale: { since: number; until: number; reason: 'joining' | 'stalled' } | undefined;

  private out: Datagram[] = [];
  private events: MembershipEvent[] = [];
  private readonly listeners = new Set<(e: MembershipEvent) => void>();
  private aliveCache: ReadonlySet<string> | undefined;
  // Derived views, rebuilt only when a member is added or removed, changes state or address, or
  // the seeds change: at 1,000 members, rebuilding them on every tick and send dominated the CPU.
  private liveCache: Member[] | undefined;
  private seedTargetsCache: Map<string, PeerAddress> | undefined;
  private reconnectWindowStart = 0;
  private reconnectsInWindow = 0;
  lastListenerError: unknown;

  readonly stats: MembershipStats = {
    datagramsSent: 0,
    bytesSent: 0,
    datagramsReceived: 0,
    bytesReceived: 0,
    dropped: { short: 0, badMagic: 0, badVersion: 0, badMac: 0, malformed: 0, stale: 0, replay: 0, misdirected: 0, ownName: 0 },
    probes: 0,
    indirectProbes: 0,
    probeFailures: 0,
    suspicionsRaised: 0,
    deathsDeclared: 0,
    refutations: 0,
    stalls: 0,
    maxStallMs: 0,
    listenerErrors: 0,
  };

  constructor(options: MembershipCoreOptions) {
    if (!options.nodeName || Buffer.byteLength(options.nodeName) > 253) throw new Error(`membership: nodeName "${options.nodeName}" must be 1..253 bytes (a Kubernetes node name)`);
    this.name = options.nodeName;
    this.address = options.address;
    this.port = options.port;
    this.macKey = deriveMacKey(options.key);
    this.timing = resolveTiming(options.timing);
    this.random = options.random ?? Math.random;
    this.replay = new ReplayGuard(this.timing.maxClockSkewMs);
    this.seeds = [...(options.seeds ?? [])];
  }

  // ---- public surface ------------------------------------------------------------------------

  /** Starts joining through the seeds. tick() calls it if the caller did not. */
  start(now: number): Datagram[] {
    if (this.started) return this.flush();
    this.started = true;
    this.bootAt = now;
    this.now = now;
    this.lastEntryAt = now;
    const t = this.timing;
    // Spread the periodic work so that nodes started together do not probe in lock-step.
    this.nextProbeAt = now + Math.floor(this.random() * t.probeIntervalMs);
    this.nextGossipAt = now + t.gossipIntervalMs;
    this.nextPushPullAt = now + t.pushPullIntervalMs * (0.5 + this.random());
    this.nextHousekeepingAt = now + 1_000;
    if (this.otherSeeds().length > 0) this.setStale(now, now + t.joinTimeoutMs, 'joining');
    this.contactSeeds();
    return this.flush();
  }

  /** Call every `timing.tickMs`; returns the datagrams to send. */
  tick(now: number): Datagram[] {
    if (!this.started) this.start(now);
    this.enter(now);
    if (this.left) return this.flush();
    if (this.stale && now >= this.stale.until) this.setFresh(this.stale.reason === 'joining' ? 'alone' : 'timeout');
    this.contactSeeds();
    this.runProbes();
    this.startProbeIfDue();
    this.expireSuspicions();
    for (const [seq, r] of this.relays) if (now >= r.expiresAt) this.relays.delete(seq);
    this.gossipIfDue();
    this.pushPullIfDue();
    if (now >= this.nextHousekeepingAt) this.housekeeping();
    return this.flush();
  }

  /** A datagram arrived from `from`; returns the datagrams to send. Bad datagrams are counted and dropped. */
  receive(from: PeerAddress, bytes: Uint8Array, now: number): Datagram[] {
    if (!this.started) this.start(now);
    this.enter(now);
    this.stats.datagramsReceived++;
    this.stats.bytesReceived += bytes.length;
    if (this.left) return this.flush();
    const decoded = decodeDatagram(bytes, this.macKey);
    if (!decoded.ok) {
      this.stats.dropped[decoded.reason]++;
      return this.flush();
    }
    const msg = decoded.message;
    const env = msg.envelope;
    if (env.sender === this.name) {
      // Our own name from elsewhere: a reflected datagram or a second process with our name.
      this.stats.dropped.ownName++;
      return this.flush();
    }
    const verdict = this.replay.check(env.sender, env.sentAt, env.bootAt, env.seq, now);
    if (verdict !== 'ok') {
      this.stats.dropped[verdict]++;
      return this.flush();
    }
    this.handle(from, msg);
    return this.flush();
  }

  /** Graceful leave (SIGTERM): peers mark us dead at once instead of waiting for the detector. */
  leave(now: number): Datagram[] {
    if (!this.started) this.start(now);
    this.enter(now);
    if (this.left) return this.flush();
    this.incarnation = Math.min(U32, this.incarnation + 1);
    this.left = true;
    const record: MemberRecord = { state: 'left', name: this.name, incarnation: this.incarnation, address: this.address, port: this.port, from: this.name };
    for (const m of this.members.values()) {
      if (m.state === 'alive' || m.state === 'suspect') this.send(m, MessageType.Gossip, { type: MessageType.Gossip }, { records: [record], recipient: m.name, piggyback: false });
    }
    this.probes.clear();
    this.relays.clear();
    this.gossip.clear();
    this.aliveCache = undefined;
    this.emit({ kind: 'member', name: this.name, from: 'alive', to: 'left', incarnation: this.incarnation, at: this.now });
    return this.flush();
  }

  /** Replaces the join addresses (the other nodes' InternalIPs). Our own address is ignored. */
  setSeeds(seeds: readonly PeerAddress[]): void {
    this.seeds = [...seeds];
    this.viewChanged();
    const keep = new Set(this.seeds.map(key));
    for (const k of this.retry.keys()) if (!keep.has(k)) this.retry.delete(k);
  }

  /** Names of members not known dead: alive and suspect ones (a suspect may be refuting), ourselves included. */
  aliveNodes(): ReadonlySet<string> {
    if (!this.aliveCache) {
      const s = new Set<string>();
      if (!this.left) s.add(this.name);
      for (const m of this.members.values()) if (m.state === 'alive' || m.state === 'suspect') s.add(m.name);
      this.aliveCache = s;
    }
    return this.aliveCache;
  }

  /** Every member we know of (dead ones until deadRetentionMs), without ourselves. */
  memberList(): MemberView[] {
    return [...this.members.values()].map((m) => ({ name: m.name, address: m.address, port: m.port, incarnation: m.incarnation, state: m.state, since: m.since }));
  }

  /** True while joining, and after an own stall until a member answered the re-sync. */
  isViewStale(): boolean {
    return this.stale !== undefined;
  }

  get ownIncarnation(): number {
    return this.incarnation;
  }

  get hasLeft(): boolean {
    return this.left;
  }

  /** Listener for member state changes and view freshness; returns an unsubscribe function. */
  onChange(listener: (e: MembershipEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  // ---- clock and stalls ----------------------------------------------------------------------

  private enter(now: number): void {
    if (now < this.now) now = this.now; // a clock that steps back must not reopen deadlines
    this.now = now;
    if (this.lastEntryAt !== undefined) {
      const gap = now - this.lastEntryAt;
      if (gap > this.timing.stallThresholdMs && !this.left) this.onStall(gap - this.timing.tickMs);
    }
    this.lastEntryAt = now;
  }

  // Our event loop did not run for `lost` ms. Acks may be waiting in the socket buffer and
  // refutations may be on their way, so nothing that expired meanwhile is evidence against
  // others: every pending deadline moves by the lost time, and the view is stale until a member
  // answers a re-sync (we may also have been declared dead meanwhile).
  private onStall(lost: number): void {
    this.stats.stalls++;
    this.stats.maxStallMs = Math.max(this.stats.maxStallMs, lost);
    for (const p of this.probes.values()) {
      p.directDeadline += lost;
      p.deadline += lost;
    }
    for (const r of this.relays.values()) r.expiresAt += lost;
    for (const m of this.members.values()) {
      if (m.suspicion) {
        m.suspicion.startedAt += lost;
        m.suspicion.deadline += lost;
      }
    }
    if (this.nextProbeAt < this.now) this.nextProbeAt = this.now + this.timing.probeIntervalMs;
    const peers = this.pick(this.liveMembers(), 2);
    if (peers.length === 0) return;
    for (const p of peers) this.sendFullState(p, MessageType.SyncRequest);
    const wasStale = this.stale !== undefined;
    this.stale = { since: this.now, until: this.now + this.timing.resyncTimeoutMs, reason: this.stale?.reason === 'joining' ? 'joining' : 'stalled' };
    if (!wasStale) this.emit({ kind: 'view', stale: true, reason: 'stalled', stalledMs: lost, at: this.now });
  }

  private setStale(now: number, until: number, reason: 'joining' | 'stalled'): void {
    const was = this.stale !== undefined;
    this.stale = { since: now, until, reason };
    if (!was) this.emit({ kind: 'view', stale: true, reason, at: now });
  }

  private setFresh(reason: 'synced' | 'timeout' | 'alone'): void {
    if (!this.stale) return;
    this.stale = undefined;
    this.joined = true;
    this.emit({ kind: 'view', stale: false, reason, at: this.now });
  }

  // ---- probing -------------------------------------------------------------------------------

  // Each interval probes our ring successor (next live name after ours) and the next member of a
  // shuffled round-robin. The ring bounds the wait for a first probe of a dead member to one
  // interval whatever the cluster size (with random targets alone, a member of a 10-node cluster
  // can go unprobed for 500 ms); the round-robin supplies independent confirmations and keeps
  // working when the ring is broken by several failures.
  private startProbeIfDue(): void {
    const t = this.timing;
    if (this.now < this.nextProbeAt) return;
    this.nextProbeAt += t.probeIntervalMs;
    if (this.nextProbeAt <= this.now) this.nextProbeAt = this.now + t.probeIntervalMs;
    const successor = this.ringSuccessor();
    const next = this.nextProbeTarget();
    if (successor) this.probe(successor);
    if (next && next !== successor) this.probe(next);
  }

  private probe(target: Member): void {
    const t = this.timing;
    const probe = this.nextProbeSeq();
    this.probes.set(probe, { target: target.name, directDeadline: this.now + t.directAckTimeoutMs, deadline: this.now + t.probeTimeoutMs, indirectSent: false });
    this.stats.probes++;
    this.send(target, MessageType.Ping, { type: MessageType.Ping, probe, target: target.name }, { recipient: target.name });
  }

  private ringSuccessor(): Member | undefined {
    let best: Member | undefined;
    let lowest: Member | undefined;
    for (const m of this.members.values()) {
      if (m.state !== 'alive' && m.state !== 'suspect') continue;
      if (m.name > this.name && (!best || m.name < best.name)) best = m;
      if (!lowest || m.name < lowest.name) lowest = m;
    }
    return best ?? lowest;
  }

  // SWIM's round-robin over a shuffled member list: every member is probed once per round, so a
  // dead member is found within (members x probeIntervalMs) by every prober, not "eventually".
  private nextProbeTarget(): Member | undefined {
    for (let pass = 0; pass < 2; pass++) {
      while (this.probeIndex < this.probeOrder.length) {
        const m = this.members.get(this.probeOrder[this.probeIndex++] as string);
        if (m && (m.state === 'alive' || m.state === 'suspect')) return m;
      }
      this.probeOrder = this.shuffle(this.liveMembers().map((m) => m.name));
      this.probeIndex = 0;
    }
    return undefined;
  }

  private runProbes(): void {
    const t = this.timing;
    for (const [seq, p] of this.probes) {
      const target = this.members.get(p.target);
      if (!target || target.state === 'dead' || target.state === 'left') {
        this.probes.delete(seq);
        continue;
      }
      if (!p.indirectSent && this.now >= p.directDeadline) {
        p.indirectSent = true;
        const helpers = this.pick(this.liveMembers().filter((m) => m.name !== p.target && m.state === 'alive'), t.indirectChecks);
        for (const h of helpers) {
          this.stats.indirectProbes++;
          this.send(h, MessageType.PingReq, { type: MessageType.PingReq, probe: seq, target: target.name, address: target.address, port: target.port }, { recipient: h.name });
        }
      }
      if (this.now >= p.deadline) {
        this.probes.delete(seq);
        this.stats.probeFailures++;
        // A stale view cannot tell "they are gone" from "we were gone": no accusations until re-synced.
        if (!this.stale) this.suspectByUs(target);
      }
    }
  }

  private suspectByUs(m: Member): void {
    if (m.state === 'alive') {
      this.stats.suspicionsRaised++;
      const record = this.recordOf(m, 'suspect', this.name);
      this.transition(m, 'suspect', m.incarnation, this.name);
      this.gossip.enqueue(record);
      // Buddy system (Lifeguard): tell the suspect first, so a paused node finds the news in
      // its socket buffer and refutes the moment it runs again.
      this.send(m, MessageType.Gossip, { type: MessageType.Gossip }, { recipient: m.name, records: [record] });
    } else if (m.state === 'suspect' && m.suspicion && !m.suspicion.confirmers.has(this.name)) {
      // Our own failed probe confirms someone else's suspicion; tell the others (it shortens their timeout).
      m.suspicion.confirmers.add(this.name);
      this.rescheduleSuspicion(m);
      this.gossip.enqueue(this.recordOf(m, 'suspect', this.name));
    }
  }

  private expireSuspicions(): void {
    for (const m of this.members.values()) {
      if (m.state !== 'suspect' || !m.suspicion || this.now < m.suspicion.deadline) continue;
      if (this.stale) continue;
      this.stats.deathsDeclared++;
      this.transition(m, 'dead', m.incarnation, this.name);
      const record = this.recordOf(m, 'dead', this.name);
      this.gossip.enqueue(record);
      // The election waits for every member to agree, not for the first: tell them all now
      // (one small datagram each, once per death) instead of over a few gossip rounds.
      for (const peer of this.pick(this.liveMembers(), BROADCAST_LIMIT)) {
        this.send(peer, MessageType.Gossip, { type: MessageType.Gossip }, { recipient: peer.name, records: [record] });
      }
    }
  }

  // Lifeguard: the timeout falls from max towards min as independent confirmations arrive, so a
  // node many members cannot reach is declared dead quickly, and a lone accuser waits longer.
  private rescheduleSuspicion(m: Member): void {
    const s = m.suspicion;
    if (!s) return;
    const t = this.timing;
    const expected = Math.min(t.suspicionConfirmations, Math.max(0, this.liveMembers().length - 1));
    const confirmations = Math.max(0, s.confirmers.size - 1);
    let timeout = t.suspicionMinMs;
    if (expected >= 1) {
      const frac = Math.log(confirmations + 1) / Math.log(expected + 1);
      timeout = Math.max(t.suspicionMinMs, Math.floor(t.suspicionMaxMs - (t.suspicionMaxMs - t.suspicionMinMs) * frac));
    }
    s.deadline = s.startedAt + timeout;
  }

  // ---- receiving -----------------------------------------------------------------------------

  private handle(from: PeerAddress, msg: DecodedMessage): void {
    const env = msg.envelope;
    // Direct contact: the sender is alive at the incarnation it claims.
    this.apply({ state: 'alive', name: env.sender, incarnation: env.incarnation, address: from.address, port: from.port, from: '' });
    for (const r of msg.records) this.apply(r, from, env.sender);
    const body = msg.body;
    switch (body.type) {
      case MessageType.Ping:
        if (body.target !== this.name) {
          // Someone else's member now answers at this address (node replaced): do not vouch for it.
          this.stats.dropped.misdirected++;
          return;
        }
        this.send(from, MessageType.Ack, { type: MessageType.Ack, probe: body.probe }, { recipient: env.sender });
        return;
      case MessageType.Ack: {
        if (this.probes.delete(body.probe)) return;
        const relay = this.relays.get(body.probe);
        if (relay) {
          this.relays.delete(body.probe);
          this.send(relay.prober, MessageType.Ack, { type: MessageType.Ack, probe: relay.proberProbe }, { recipient: relay.proberName });
        }
        return; // a late ack: its envelope already counted as contact
      }
      case MessageType.PingReq: {
        if (body.target === this.name) return;
        const probe = this.nextProbeSeq();
        this.relays.set(probe, { prober: from, proberName: env.sender, proberProbe: body.probe, expiresAt: this.now + this.timing.probeTimeoutMs });
        this.send({ address: body.address, port: body.port }, MessageType.Ping, { type: MessageType.Ping, probe, target: body.target }, { recipient: body.target });
        return;
      }
      case MessageType.SyncRequest:
        // A full table spans several datagrams, all stamped with the sender's same sentAt: answer
        // the request once, not once per datagram (that answered an n-member table with n/35
        // full tables, which made joins and partition heals quadratic in datagrams).
        if (this.syncAnswered.get(env.sender) !== env.sentAt) {
          this.syncAnswered.set(env.sender, env.sentAt);
          this.sendFullState(from, MessageType.Sync);
        }
        // While joining, a member's full state is as good as an answer. After a stall only an
        // answer counts: it was sent after our re-sync request, so it is not news from the past.
        if (this.stale?.reason === 'joining') this.setFresh('synced');
        return;
      case MessageType.Sync:
        if (this.stale) this.setFresh('synced');
        return;
      case MessageType.Gossip:
        return;
    }
  }

  /** SWIM's precedence: higher incarnation wins; at equal incarnation dead > suspect > alive. */
  private apply(r: MemberRecord, via?: PeerAddress, viaName?: string): void {
    if (r.name === this.name) {
      this.applyAboutUs(r, via, viaName);
      return;
    }
    const m = this.members.get(r.name);
    if (!m) {
      // Only a live member can be introduced; news of the death of a stranger is no news.
      if (r.state !== 'alive') return;
      const added: Member = { name: r.name, address: r.address, port: r.port, incarnation: r.incarnation, state: 'alive', since: this.now };
      this.members.set(r.name, added);
      this.viewChanged();
      // Probed within the current round, at a random place.
      this.probeOrder.splice(this.probeIndex + Math.floor(this.random() * (this.probeOrder.length - this.probeIndex + 1)), 0, r.name);
      this.aliveCache = undefined;
      this.emit({ kind: 'member', name: r.name, from: undefined, to: 'alive', incarnation: r.incarnation, at: this.now });
      this.gossip.enqueue(r);
      return;
    }
    const newer = r.incarnation > m.incarnation || (r.incarnation === m.incarnation && RANK[r.state] > RANK[m.state]);
    if (!newer) {
      if (r.state === 'suspect' && m.state === 'suspect' && r.incarnation === m.incarnation && m.suspicion && r.from && !m.suspicion.confirmers.has(r.from)) {
        m.suspicion.confirmers.add(r.from);
        this.rescheduleSuspicion(m);
      }
      return;
    }
    if (r.state === 'alive') {
      if (m.address !== r.address || m.port !== r.port) this.viewChanged();
      m.address = r.address;
      m.port = r.port;
    }
    this.transition(m, r.state, r.incarnation, r.from);
    this.gossip.enqueue(r);
  }

  // News about ourselves: anything that is not "alive at our incarnation" gets refuted with a
  // higher incarnation, including a death (we are evidently running) and an old incarnation of
  // ours learnt after a restart.
  private applyAboutUs(r: MemberRecord, via?: PeerAddress, viaName?: string): void {
    if (this.left) return;
    const conflict = r.state === 'alive' && r.incarnation === this.incarnation && (r.address !== this.address || r.port !== this.port);
    const needs = r.incarnation > this.incarnation || (r.incarnation === this.incarnation && r.state !== 'alive') || conflict;
    if (!needs) return;
    this.incarnation = Math.min(U32, r.incarnation + 1);
    this.stats.refutations++;
    this.emit({ kind: 'refuted', claimed: r.state, from: viaName ?? r.from, incarnation: this.incarnation, at: this.now });
    const record = this.selfRecord();
    this.gossip.enqueue(record);
    // Refute at once to whoever told us and a few others; gossip carries it to the rest.
    const targets = this.pick(this.liveMembers().filter((m) => m.name !== viaName), this.timing.gossipFanout);
    if (via && viaName) this.send(via, MessageType.Gossip, { type: MessageType.Gossip }, { recipient: viaName, records: [record] });
    for (const m of targets) this.send(m, MessageType.Gossip, { type: MessageType.Gossip }, { recipient: m.name, records: [record] });
  }

  private transition(m: Member, state: MemberState, incarnation: number, from: string): void {
    const previous = m.state;
    const newIncarnation = incarnation !== m.incarnation;
    m.incarnation = incarnation;
    if (state === 'suspect') {
      if (previous !== 'suspect' || !m.suspicion || newIncarnation) {
        m.suspicion = { startedAt: this.now, deadline: 0, confirmers: new Set(from ? [from] : []) };
      } else if (from) {
        m.suspicion.confirmers.add(from);
      }
      this.rescheduleSuspicion(m);
    } else {
      m.suspicion = undefined;
    }
    if (previous === state) return;
    m.state = state;
    m.since = this.now;
    this.viewChanged();
    if (state === 'dead' || state === 'left') {
      for (const [seq, p] of this.probes) if (p.target === m.name) this.probes.delete(seq);
    }
    if (RANK[previous] === 2 || RANK[state] === 2) this.aliveCache = undefined;
    this.emit({ kind: 'member', name: m.name, from: previous, to: state, incarnation, at: this.now });
  }

  // ---- dissemination -------------------------------------------------------------------------

  private gossipIfDue(): void {
    if (this.now < this.nextGossipAt) return;
    this.nextGossipAt = Math.max(this.nextGossipAt + this.timing.gossipIntervalMs, this.now);
    if (this.gossip.size === 0) return;
    for (const m of this.pick(this.liveMembers(), this.timing.gossipFanout)) {
      this.send(m, MessageType.Gossip, { type: MessageType.Gossip }, { recipient: m.name });
    }
  }

  private pushPullIfDue(): void {
    if (this.now < this.nextPushPullAt) return;
    this.nextPushPullAt = this.now + this.timing.pushPullIntervalMs;
    const [peer] = this.pick(this.liveMembers().filter((m) => m.state === 'alive'), 1);
    if (peer) this.sendFullState(peer, MessageType.SyncRequest);
  }

  // Seeds not (or no longer) alive members, and dead members, are sent our full state: this is
  // how a node joins, and how both sides of a healed partition find each other again.
  private contactSeeds(): void {
    const t = this.timing;
    const targets = this.seedTargets();
    const due: [string, PeerAddress, { nextAt: number; backoff: number }][] = [];
    for (const [k, peer] of targets) {
      let r = this.retry.get(k);
      if (!r) {
        r = { nextAt: this.now, backoff: this.joined ? t.reconnectIntervalMs : t.joinRetryMs };
        this.retry.set(k, r);
      }
      if (this.now >= r.nextAt) due.push([k, peer, r]);
    }
    // Once joined, a few full states per interval find the other side of a partition as surely as
    // one to every dead member did, without n x dead x table-size bytes (1.3 MB/s per node in a
    // 30/270 split of 300 nodes). Targets left out stay due and take their turn later.
    if (this.now - this.reconnectWindowStart >= t.reconnectIntervalMs) {
      this.reconnectWindowStart = this.now;
      this.reconnectsInWindow = 0;
    }
    const budget = this.joined ? Math.max(0, MAX_RECONNECTS_PER_INTERVAL - this.reconnectsInWindow) : due.length;
    for (const [, peer, r] of due.length > budget ? this.pick(due, budget) : due) {
      r.nextAt = this.now + r.backoff;
      r.backoff = Math.min(r.backoff * 2, t.reconnectIntervalMs);
      this.reconnectsInWindow++;
      this.sendFullState(peer, MessageType.SyncRequest);
    }
    if (this.retry.size > 0) for (const k of this.retry.keys()) if (!targets.has(k)) this.retry.delete(k);
  }

  /** Seeds and dead members whose address no live member holds (cached until the view changes). */
  private seedTargets(): Map<string, PeerAddress> {
    if (this.seedTargetsCache) return this.seedTargetsCache;
    const live = new Set<string>();
    for (const m of this.members.values()) if (m.state === 'alive' || m.state === 'suspect') live.add(key(m));
    const targets = new Map<string, PeerAddress>();
    for (const s of this.otherSeeds()) targets.set(key(s), s);
    for (const m of this.members.values()) if (m.state === 'dead') targets.set(key(m), m);
    for (const k of live) targets.delete(k);
    this.seedTargetsCache = targets;
    return targets;
  }

  private viewChanged(): void {
    this.liveCache = undefined;
    this.seedTargetsCache = undefined;
  }

  private housekeeping(): void {
    this.nextHousekeepingAt = this.now + 1_000;
    for (const [name, m] of this.members) {
      if ((m.state === 'dead' || m.state === 'left') && this.now - m.since > this.timing.deadRetentionMs) {
        this.members.delete(name);
        this.viewChanged();
      }
    }
    this.replay.prune(this.now);
    for (const name of this.syncAnswered.keys()) if (!this.members.has(name)) this.syncAnswered.delete(name);
  }

  // ---- sending -------------------------------------------------------------------------------

  private send(to: PeerAddress, type: MessageType, body: MessageBody, opts: { recipient?: string; records?: readonly MemberRecord[]; piggyback?: boolean }): void {
    const w = new DatagramWriter(this.timing.maxDatagramBytes).header(type, this.envelope()).body(body);
    const included = new Set<string>();
    // Buddy system: a member we hold suspect or dead hears it from us first.
    const about = opts.recipient !== undefined ? this.members.get(opts.recipient) : undefined;
    if (about && (about.state === 'suspect' || about.state === 'dead')) {
      if (w.record(this.recordOf(about, about.state, ''))) included.add(about.name);
    }
    for (const r of opts.records ?? []) if (!included.has(r.name) && w.record(r)) included.add(r.name);
    if (opts.piggyback !== false) {
      this.gossip.drain(this.transmitLimit(), (r) => w.record(r), (r) => included.has(r.name));
    }
    this.emitDatagram(to, w.finish(this.macKey));
  }

  /** Our full table (ourselves, then every member including the dead), in as many datagrams as needed. */
  private sendFullState(to: PeerAddress, type: typeof MessageType.SyncRequest | typeof MessageType.Sync): void {
    // "from" stays empty: relaying a suspicion is not an independent confirmation of it.
    const records: MemberRecord[] = [this.selfRecord()];
    for (const m of this.members.values()) records.push(this.recordOf(m, m.state, ''));
    let i = 0;
    do {
      const w = new DatagramWriter(this.timing.maxDatagramBytes).header(type, this.envelope()).body({ type });
      const first = i;
      while (i < records.length && w.record(records[i] as MemberRecord)) i++;
      if (i === first && i < records.length) i++; // a record larger than a datagram cannot happen with <=253-byte names; never loop
      this.emitDatagram(to, w.finish(this.macKey));
    } while (i < records.length);
  }

  private emitDatagram(to: PeerAddress, bytes: Buffer): void {
    this.stats.datagramsSent++;
    this.stats.bytesSent += bytes.length;
    this.out.push({ address: to.address, port: to.port, bytes });
  }

  private envelope() {
    this.datagramSeq = (this.datagramSeq + 1) >>> 0;
    if (this.datagramSeq === 0) {
      // Counter wrapped (years of uptime): start a new replay-guard epoch, as a restart would.
      this.bootAt = Math.max(this.now, this.bootAt + 1);
      this.datagramSeq = 1;
    }
    return { sentAt: this.now, bootAt: this.bootAt, seq: this.datagramSeq, incarnation: this.incarnation, sender: this.name };
  }

  private flush(): Datagram[] {
    const out = this.out;
    this.out = [];
    const events = this.events;
    this.events = [];
    for (const e of events) {
      for (const l of this.listeners) {
        try {
          l(e);
        } catch (err) {
          // A faulty listener must not stop the protocol (the datagrams below still go out).
          this.stats.listenerErrors++;
          this.lastListenerError = err;
        }
      }
    }
    return out;
  }

  private emit(e: MembershipEvent): void {
    this.events.push(e);
  }

  // ---- helpers -------------------------------------------------------------------------------

  private transmitLimit(): number {
    return this.timing.retransmitMult * Math.max(1, Math.ceil(Math.log10(this.liveMembers().length + 2)));
  }

  /** Alive and suspect members in insertion order; shared and cached, so callers must not mutate it. */
  private liveMembers(): readonly Member[] {
    if (!this.liveCache) {
      const out: Member[] = [];
      for (const m of this.members.values()) if (m.state === 'alive' || m.state === 'suspect') out.push(m);
      this.liveCache = out;
    }
    return this.liveCache;
  }

  private otherSeeds(): PeerAddress[] {
    return this.seeds.filter((s) => !(s.address === this.address && s.port === this.port));
  }

  private selfRecord(): MemberRecord {
    return { state: 'alive', name: this.name, incarnation: this.incarnation, address: this.address, port: this.port, from: '' };
  }

  private recordOf(m: Member, state: MemberState, from: string): MemberRecord {
    return { state, name: m.name, incarnation: m.incarnation, address: m.address, port: m.port, from };
  }

  private nextProbeSeq(): number {
    this.probeSeq = (this.probeSeq + 1) >>> 0;
    return this.probeSeq;
  }

  private shuffle<T>(xs: T[]): T[] {
    for (let i = xs.length - 1; i > 0; i--) {
      const j = Math.floor(this.random() * (i + 1));
      [xs[i], xs[j]] = [xs[j] as T, xs[i] as T];
    }
    return xs;
  }

  private pick<T>(xs: readonly T[], k: number): T[] {
    if (xs.length <= k) return [...xs];
    return this.shuffle([...xs]).slice(0, k);
  }
}

/** Full-state reconnects to seeds and dead members per reconnect interval once joined. */
const MAX_RECONNECTS_PER_INTERVAL = 4;

function key(p: PeerAddress): string {
  return `${p.address}|${p.port}`;
}
