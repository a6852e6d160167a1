// The gossip membership on a worker thread of its own. The speaker's main thread can be busy for
// seconds (a burst of 1,000 Services: JSON parsing, reconcile passes, status writes); if acks
// waited for it, the other speakers would declare this node dead while it still answers ARP, and
// an IP would have two owners. On its own event loop the gossip answers probes on time, and the
// main thread reads a mirrored view that is never older than its last message.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { projectRoot } from '../../lab/projectRoot.js';
import type { MemberState, MemberView, MembershipEvent, MembershipStats } from './core.js';
import type { GossipMembershipOptions } from './gossipMembership.js';

export type ThreadRequest =
  | { readonly t: 'seeds'; readonly seeds: readonly string[] }
  | { readonly t: 'stats'; readonly id: number }
  | { readonly t: 'leave'; readonly timeoutMs: number }
  | { readonly t: 'close' };

export type ThreadReply =
  | { readonly t: 'started'; readonly alive: string[]; readonly stale: boolean }
  | { readonly t: 'startFailed'; readonly message: string }
  | { readonly t: 'change'; readonly event: MembershipEvent; readonly alive: string[]; readonly stale: boolean }
  | { readonly t: 'stats'; readonly id: number; readonly stats: MembershipStats; readonly members: MemberView[] }
  | { readonly t: 'left' }
  | { readonly t: 'error'; readonly message: string };

/** The compiled worker next to this module; under vitest (TypeScript sources) the build's copy in dist/. */
function workerScript(): string {
  const here = fileURLToPath(new URL('./gossipWorker.js', import.meta.url));
  if (existsSync(here)) return here;
  const built = join(projectRoot(), 'dist', 'src', 'speaker', 'membership', 'gossipWorker.js');
  if (existsSync(built)) return built;
  throw new Error(`gossip worker script not found (${here}, ${built}): run "npm run build"`);
}

export class GossipThread {
  private alive: ReadonlySet<string>;
  private stale: boolean;
  /** Members this node saw declared dead or leaving (cleared when they come back). */
  private readonly goneMembers = new Set<string>();
  /** How many times the view went stale (joining or a stall of this process). */
  private refutationCount = 0;
  /** The last state of every member this node has heard of (partition.ts reads it). */
  private readonly memberStates = new Map<string, MemberState>();
  private readonly listeners = new Set<(e: MembershipEvent) => void>();
  private readonly pendingStats = new Map<number, (s: { stats: MembershipStats; members: MemberView[] }) => void>();
  private nextId = 1;
  private closed = false;

  private constructor(private readonly worker: Worker, first: { alive: string[]; stale: boolean }, private readonly onError?: (err: Error) => void) {
    this.alive = new Set(first.alive);
    this.stale = first.stale;
    for (const name of first.alive) this.memberStates.set(name, 'alive');
    worker.on('message', (m: ThreadReply) => this.receive(m));
    worker.on('error', (err) => this.onError?.(err));
    worker.on('exit', (code) => {
      if (!this.closed) this.onError?.(new Error(`gossip worker thread exited (code ${code}); membership view frozen`));
    });
  }

  /** Starts the worker; rejects with the membership's own message if it cannot bind or the options are bad. */
  static start(options: GossipMembershipOptions): Promise<GossipThread> {
    const { onError, ...data } = options;
    const worker = new Worker(workerScript(), { workerData: data, name: `gossip ${options.nodeName}` });
    return new Promise((resolve, reject) => {
      const fail = (err: Error) => {
        void worker.terminate();
        reject(err);
      };
      worker.once('error', fail);
      worker.once('message', (m: ThreadReply) => {
        worker.off('error', fail);
        if (m.t === 'started') resolve(new GossipThread(worker, m, onError));
        else fail(new Error(m.t === 'startFailed' ? m.message : `gossip worker: unexpected first message "${m.t}"`));
      });
    });
  }

  aliveNodes(): ReadonlySet<string> {
    return this.alive;
  }

  isViewStale(): boolean {
    return this.stale;
  }

  goneNodes(): ReadonlySet<string> {
    return this.goneMembers;
  }

  /** How often others held us suspect, dead or gone and we refuted (see Liveness.refutations). */
  refutations(): number {
    return this.refutationCount;
  }

  memberStatesView(): ReadonlyMap<string, MemberState> {
    return this.memberStates;
  }

  onChange(listener: (e: MembershipEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  ready(): Promise<void> {
    if (!this.stale) return Promise.resolve();
    return new Promise((resolve) => {
      const off = this.onChange(() => {
        if (!this.stale) {
          off();
          resolve();
        }
      });
    });
  }

  setSeeds(seeds: readonly string[]): void {
    this.send({ t: 'seeds', seeds });
  }

  /** Counters and member list, read from the worker. */
  snapshot(): Promise<{ stats: MembershipStats; members: MemberView[] }> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.pendingStats.set(id, resolve);
      this.send({ t: 'stats', id });
    });
  }

  async leave(timeoutMs = 1_000): Promise<void> {
    if (this.closed) return;
    const left = new Promise<void>((resolve) => {
      const onMessage = (m: ThreadReply) => {
        if (m.t !== 'left') return;
        this.worker.off('message', onMessage);
        resolve();
      };
      this.worker.on('message', onMessage);
    });
    this.send({ t: 'leave', timeoutMs });
    await Promise.race([left, new Promise((r) => setTimeout(r, timeoutMs + 500).unref())]);
    this.close();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.send({ t: 'close' });
    // The worker closes its socket and port; terminate is the backstop if it is wedged.
    setTimeout(() => void this.worker.terminate(), 1_000).unref();
    this.worker.unref();
  }

  private send(m: ThreadRequest): void {
    if (!this.closed || m.t === 'close') this.worker.postMessage(m);
  }

  private receive(m: ThreadReply): void {
    switch (m.t) {
      case 'change':
        this.alive = new Set(m.alive);
        this.stale = m.stale;
        if (m.event.kind === 'refuted') this.refutationCount++;
        if (m.event.kind === 'member') {
          this.memberStates.set(m.event.name, m.event.to);
          if (m.event.to === 'dead' || m.event.to === 'left') this.goneMembers.add(m.event.name);
          else this.goneMembers.delete(m.event.name);
        }
        for (const l of this.listeners) l(m.event);
        break;
      case 'stats':
        this.pendingStats.get(m.id)?.(m);
        this.pendingStats.delete(m.id);
        break;
      case 'error':
        this.onError?.(new Error(m.message));
        break;
      default:
        break;
    }
  }
}
