// A deterministic network of MembershipCores with a fake clock: seeded loss, latency, crashes,
// event-loop pauses and captured datagrams. Tests and bench/membership.ts run the protocol here
// thousands of times faster than real time; the real UDP adapter runs the same core.
import { MembershipCore, type Datagram, type MembershipEvent, type PeerAddress } from './core.js';
import type { MembershipTiming } from './timing.js';

export interface SimulationOptions {
  readonly seed: number;
  /** Node count (named node-0..) or explicit names. */
  readonly nodes: number | readonly string[];
  /** Probability that any one datagram is lost. */
  readonly lossRate?: number;
  /** One-way delay: minMs plus an exponential tail with this mean (a busy receiver's event loop). */
  readonly latency?: { readonly minMs: number; readonly meanExtraMs: number };
  readonly timing?: Partial<MembershipTiming>;
  readonly key?: Buffer;
  /** Nodes start at random times within this window. */
  readonly startSpreadMs?: number;
  /** Timer lateness per tick, uniform in [0, tickJitterMs). */
  readonly tickJitterMs?: number;
  /**
   * Each node joins through this many other nodes (seeded choice) instead of all of them. The
   * speaker passes every Node's address; at 1,000 nodes started together that join storm (each
   * node sends its state to 999 seeds, each answers with its full table) costs minutes of CPU in
   * one process, so bench/membershipScale.ts forms the cluster through a few seeds.
   */
  readonly seedsPerNode?: number;
  /** Simulated wall clock at t = 0 (ms since the epoch). */
  readonly epoch?: number;
  /** Order after a pause: "io-first" models GossipMembership (tick deferred behind pending I/O). */
  readonly resumeOrder?: 'io-first' | 'timer-first';
}

export interface SimNode {
  readonly name: string;
  readonly address: string;
  readonly port: number;
  readonly core: MembershipCore;
  status: 'waiting' | 'running' | 'paused' | 'crashed' | 'left';
  pausedUntil: number;
  backlog: { from: PeerAddress; bytes: Buffer }[];
}

export interface ObservedEvent {
  readonly observer: string;
  readonly event: MembershipEvent;
}

type Pending = { at: number; kind: 'tick'; node: SimNode } | { at: number; kind: 'deliver'; to: string; from: PeerAddress; bytes: Buffer };
type Scheduled = Pending & { id: number };

/** Seeded PRNG (mulberry32): the same seed gives the same run. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const DEFAULT_KEY = Buffer.from('simulated-cluster-shared-key-000');
export const SIM_PORT = 7946;

export class SimulatedCluster {
  readonly nodes: SimNode[] = [];
  readonly events: ObservedEvent[] = [];
  /** Every datagram put on the wire (before loss), for replay tests and byte counts. */
  readonly wire: { at: number; from: string; to: PeerAddress; bytes: Buffer }[] = [];
  recordWire = false;
  /** Keep every event in `events` (deathSeenAt and falseDeaths read it); off for long large runs. */
  recordEvents = true;
  /** Called for every event as it happens (whether or not it is recorded). */
  onEvent: ((e: ObservedEvent) => void) | undefined;
  lossRate: number;
  /** Extra filter: return false to drop a datagram (partitions, link down). */
  linkUp: (from: string, toAddress: string) => boolean = () => true;
  now = 0;

  private readonly rng: () => number;
  private readonly queue: Scheduled[] = [];
  private nextId = 0;
  private readonly byAddress = new Map<string, SimNode>();
  /** One-way delay, changeable during a run (delay and jitter phases of a scenario). */
  latency: { minMs: number; meanExtraMs: number };
  private readonly tickMs: number;
  private readonly tickJitterMs: number;
  private readonly epoch: number;
  private readonly resumeOrder: 'io-first' | 'timer-first';

  constructor(options: SimulationOptions) {
    this.rng = seededRandom(options.seed);
    this.lossRate = options.lossRate ?? 0;
    this.latency = { minMs: 0.2, meanExtraMs: 1, ...options.latency };
    this.tickJitterMs = options.tickJitterMs ?? 2;
    this.epoch = options.epoch ?? 1_760_000_000_000;
    this.resumeOrder = options.resumeOrder ?? 'io-first';
    const names = typeof options.nodes === 'number' ? Array.from({ length: options.nodes }, (_, i) => `node-${i}`) : [...options.nodes];
    const addresses = names.map((_, i) => (i < 240 ? `192.0.2.${10 + i}` : `198.18.${i >> 8}.${i & 255}`));
    const allSeeds = addresses.map((address) => ({ address, port: SIM_PORT }));
    const seedsOf = (i: number) => {
      const k = options.seedsPerNode;
      if (k === undefined || k >= addresses.length - 1) return allSeeds;
      const picked = new Set<number>();
      while (picked.size < k) {
        const j = Math.floor(this.rng() * addresses.length);
        if (j !== i) picked.add(j);
      }
      return [...picked].map((j) => allSeeds[j] as PeerAddress);
    };
    let tickMs = 10;
    names.forEach((name, i) => {
      const address = addresses[i] as string;
      const core = new MembershipCore({ nodeName: name, address, port: SIM_PORT, key: options.key ?? DEFAULT_KEY, seeds: seedsOf(i), timing: options.timing, random: seededRandom(options.seed * 7919 + i + 1) });
      tickMs = core.timing.tickMs;
      const node: SimNode = { name, address, port: SIM_PORT, core, status: 'waiting', pausedUntil: 0, backlog: [] };
      core.onChange((event) => this.observe(name, event));
      this.nodes.push(node);
      this.byAddress.set(address, node);
      this.schedule({ at: Math.floor(this.rng() * (options.startSpreadMs ?? 100)), kind: 'tick', node });
    });
    this.tickMs = tickMs;
  }

  node(name: string): SimNode {
    const n = this.nodes.find((x) => x.name === name);
    if (!n) throw new Error(`simulation: no node "${name}"`);
    return n;
  }

  /** Wall-clock time the cores see. */
  get wallNow(): number {
    return this.epoch + this.now;
  }

  runFor(ms: number): void {
    this.runUntil(this.now + ms);
  }

  /** Runs events up to `t`, or until `stop()` holds (checked after each event); returns whether it stopped early. */
  runUntil(t: number, stop?: () => boolean): boolean {
    for (;;) {
      const next = this.queue[0];
      if (!next || next.at > t) break;
      this.pop();
      this.now = next.at;
      this.dispatch(next);
      if (stop?.()) return true;
    }
    this.now = t;
    return false;
  }

  /** Process death (SIGKILL with the link down): nothing more in or out. */
  crash(name: string): void {
    this.node(name).status = 'crashed';
  }

  /** Event loop stalled for `ms`: datagrams pile up in the socket buffer, no timers run. */
  pause(name: string, ms: number): void {
    const n = this.node(name);
    if (n.status !== 'running') throw new Error(`simulation: cannot pause ${name} (${n.status})`);
    n.status = 'paused';
    n.pausedUntil = this.now + ms;
  }

  /** A new process takes over a crashed or left node's name and address (restart). */
  restart(name: string, core: MembershipCore): void {
    const n = this.node(name);
    if (n.status !== 'crashed' && n.status !== 'left') throw new Error(`simulation: ${name} is still running`);
    (n as { core: MembershipCore }).core = core;
    core.onChange((event) => this.observe(name, event));
    n.status = 'waiting';
    n.backlog = [];
    this.schedule({ at: this.now, kind: 'tick', node: n });
  }

  /** SIGTERM: the node leaves gracefully and stops. */
  leave(name: string): void {
    const n = this.node(name);
    this.transmit(n, n.core.leave(this.wallNow));
    n.status = 'left';
  }

  /** Puts raw bytes on the wire towards `to` as if sent from `from` (forged or replayed datagrams). */
  inject(to: string, from: PeerAddress, bytes: Buffer, delayMs = 0.5): void {
    this.schedule({ at: this.now + delayMs, kind: 'deliver', to: this.node(to).address, from, bytes });
  }

  running(): SimNode[] {
    return this.nodes.filter((n) => n.status === 'running' || n.status === 'paused');
  }

  /** Every running node sees exactly the running nodes as alive, with a fresh view. */
  converged(): boolean {
    if (this.nodes.some((n) => n.status === 'waiting')) return false;
    const running = this.running();
    const want = new Set(running.map((n) => n.name));
    return running.every((n) => {
      if (n.core.isViewStale()) return false;
      const alive = n.core.aliveNodes();
      if (alive.size !== want.size) return false;
      for (const name of alive) if (!want.has(name)) return false;
      return true;
    });
  }

  /** When `observer` first saw `member` become dead (or left) at or after `since`. */
  deathSeenAt(observer: string, member: string, since = 0): number | undefined {
    for (const e of this.events) {
      if (e.observer === observer && e.event.kind === 'member' && e.event.name === member && (e.event.to === 'dead' || e.event.to === 'left') && e.event.at - this.epoch >= since) return e.event.at - this.epoch;
    }
    return undefined;
  }

  /** Deaths of members that were in fact running, seen by running observers. */
  falseDeaths(): ObservedEvent[] {
    const gone = new Set(this.nodes.filter((n) => n.status === 'crashed' || n.status === 'left').map((n) => n.name));
    return this.events.filter((e) => e.event.kind === 'member' && e.event.to === 'dead' && !gone.has(e.event.name) && !gone.has(e.observer));
  }

  // ---- engine --------------------------------------------------------------------------------

  private observe(observer: string, event: MembershipEvent): void {
    const e = { observer, event };
    if (this.recordEvents) this.events.push(e);
    this.onEvent?.(e);
  }

  private dispatch(e: Scheduled): void {
    if (e.kind === 'tick') {
      const n = e.node;
      if (n.status === 'crashed' || n.status === 'left') return;
      if (n.status === 'waiting') {
        n.status = 'running';
        this.transmit(n, n.core.start(this.wallNow));
      } else if (n.status === 'paused') {
        if (this.now < n.pausedUntil) {
          this.schedule({ at: n.pausedUntil, kind: 'tick', node: n });
          return;
        }
        n.status = 'running';
        const backlog = n.backlog;
        n.backlog = [];
        if (this.resumeOrder === 'timer-first') this.transmit(n, n.core.tick(this.wallNow));
        for (const d of backlog) this.transmit(n, n.core.receive(d.from, d.bytes, this.wallNow));
        if (this.resumeOrder === 'io-first') this.transmit(n, n.core.tick(this.wallNow));
      } else {
        this.transmit(n, n.core.tick(this.wallNow));
      }
      this.schedule({ at: this.now + this.tickMs + this.rng() * this.tickJitterMs, kind: 'tick', node: n });
      return;
    }
    const n = this.byAddress.get(e.to);
    if (!n || n.status === 'crashed' || n.status === 'left' || n.status === 'waiting') return;
    if (n.status === 'paused') {
      n.backlog.push({ from: e.from, bytes: e.bytes });
      return;
    }
    this.transmit(n, n.core.receive(e.from, e.bytes, this.wallNow));
  }

  private transmit(n: SimNode, out: Datagram[]): void {
    for (const d of out) {
      if (this.recordWire) this.wire.push({ at: this.now, from: n.name, to: { address: d.address, port: d.port }, bytes: d.bytes });
      if (n.status === 'crashed') continue;
      if (!this.linkUp(n.name, d.address)) continue;
      if (this.rng() < this.lossRate) continue;
      const delay = this.latency.minMs - Math.log(1 - this.rng()) * this.latency.meanExtraMs;
      this.schedule({ at: this.now + delay, kind: 'deliver', to: d.address, from: { address: n.address, port: n.port }, bytes: d.bytes });
    }
  }

  private schedule(e: Pending): void {
    const item: Scheduled = { ...e, id: this.nextId++ };
    const q = this.queue;
    q.push(item);
    let i = q.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (before(q[parent] as Scheduled, item)) break;
      q[i] = q[parent] as Scheduled;
      i = parent;
    }
    q[i] = item;
  }

  private pop(): Scheduled | undefined {
    const q = this.queue;
    const top = q[0];
    const last = q.pop();
    if (q.length === 0 || last === undefined) return top;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= q.length) break;
      const r = l + 1;
      const c = r < q.length && before(q[r] as Scheduled, q[l] as Scheduled) ? r : l;
      if (before(last, q[c] as Scheduled)) break;
      q[i] = q[c] as Scheduled;
      i = c;
    }
    q[i] = last;
    return top;
  }
}

function before(a: Scheduled, b: Scheduled): boolean {
  return a.at < b.at || (a.at === b.at && a.id < b.id);
}

export interface NodeLossRun {
  /** ms from the crash until the first survivor marked the victim dead. */
  readonly firstMs: number;
  /** ms until every survivor did (what the election needs). */
  readonly allMs: number;
  readonly falseDeaths: number;
}

/**
 * One unplanned node loss: form a cluster, let it settle for a random while, crash a random
 * node, and time how long the survivors take to declare it dead.
 */
export function simulateNodeLoss(options: SimulationOptions & { readonly settleMs?: number; readonly giveUpMs?: number }): NodeLossRun {
  const sim = new SimulatedCluster(options);
  const rng = seededRandom(options.seed ^ 0x5eed);
  if (!sim.runUntil(10_000, () => sim.converged())) throw new Error(`simulation seed ${options.seed}: cluster of ${sim.nodes.length} did not converge within 10 s`);
  sim.runFor((options.settleMs ?? 1_000) + rng() * 1_000);
  const victim = sim.nodes[Math.floor(rng() * sim.nodes.length)] as SimNode;
  const crashedAt = sim.now;
  sim.crash(victim.name);
  const survivors = sim.nodes.filter((n) => n !== victim);
  const giveUp = options.giveUpMs ?? 10_000;
  sim.runUntil(crashedAt + giveUp, () => survivors.every((s) => s.core.aliveNodes().has(victim.name) === false));
  const seen = survivors.map((s) => sim.deathSeenAt(s.name, victim.name, crashedAt) ?? Number.POSITIVE_INFINITY);
  return { firstMs: Math.min(...seen) - crashedAt, allMs: Math.max(...seen) - crashedAt, falseDeaths: sim.falseDeaths().length };
}

/** Percentile by nearest rank (p in 0..100). */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] as number;
}
