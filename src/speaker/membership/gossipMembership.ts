// The membership protocol on a real UDP socket (default port 7946, as MetalLB's memberlist):
// binds, feeds datagrams and a monotonic clock into MembershipCore, sends what it returns.
import { createSocket, type Socket } from 'node:dgram';
import { isIP } from 'node:net';
import { performance } from 'node:perf_hooks';
import { MembershipCore, type Datagram, type MemberView, type MembershipEvent, type MembershipStats, type PeerAddress } from './core.js';
import type { MembershipTiming } from './timing.js';

export const DEFAULT_GOSSIP_PORT = 7946;

export interface GossipMembershipOptions {
  /** The Kubernetes node name; members are known by it. */
  readonly nodeName: string;
  /** Local address to bind, normally the node's InternalIP (the speaker runs in the host network). */
  readonly bindAddress: string;
  readonly port?: number;
  /** Address the others reach us at, if not bindAddress (required when binding a wildcard). */
  readonly advertiseAddress?: string;
  /** The shared secret's bytes (>= 16), e.g. the value of MetalLB's Secret "memberlist" key "secretkey". */
  readonly key: Uint8Array;
  /** Other nodes' addresses ("ip" uses our port, or "ip:port" / "[v6]:port"). */
  readonly seeds?: readonly string[];
  readonly timing?: Partial<MembershipTiming>;
  /** Socket-level problems (send failures are expected while a link is down). */
  readonly onError?: (err: Error) => void;
}

/** Wall-clock milliseconds that never step backwards (monotonic clock anchored at process start). */
function clock(): number {
  return performance.timeOrigin + performance.now();
}

export class GossipMembership {
  readonly core: MembershipCore;
  private readonly socket: Socket;
  private readonly port: number;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  sendErrors = 0;

  private constructor(core: MembershipCore, socket: Socket, port: number, private readonly onError?: (err: Error) => void) {
    this.core = core;
    this.socket = socket;
    this.port = port;
  }

  /** Binds the socket, starts joining through the seeds and returns once bound. */
  static async start(options: GossipMembershipOptions): Promise<GossipMembership> {
    const port = options.port ?? DEFAULT_GOSSIP_PORT;
    const family = isIP(options.bindAddress);
    if (family === 0) throw new Error(`gossip membership: bindAddress "${options.bindAddress}" is not an IP address; pass the node's InternalIP`);
    const advertise = options.advertiseAddress ?? options.bindAddress;
    if (advertise === '0.0.0.0' || advertise === '::') throw new Error('gossip membership: binding a wildcard address needs advertiseAddress (the address the other speakers reach this node at)');
    const core = new MembershipCore({
      nodeName: options.nodeName,
      address: advertise,
      port,
      key: options.key,
      seeds: parseSeeds(options.seeds ?? [], port),
      timing: options.timing,
      random: Math.random,
    });
    const socket = createSocket({ type: family === 6 ? 'udp6' : 'udp4', reuseAddr: false });
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('error', reject);
        socket.bind({ address: options.bindAddress, port, exclusive: true }, () => {
          socket.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      socket.close();
      throw new Error(`gossip membership: cannot bind UDP ${options.bindAddress} port ${port}: ${(err as Error).message} (is another speaker running on this node, or is the address not on this host?)`);
    }
    const m = new GossipMembership(core, socket, port, options.onError);
    socket.on('message', (bytes, rinfo) => {
      if (!m.closed) m.transmit(core.receive({ address: rinfo.address, port: rinfo.port }, bytes, clock()));
    });
    socket.on('error', (err) => m.onError?.(err));
    m.transmit(core.start(clock()));
    m.schedule();
    return m;
  }

  aliveNodes(): ReadonlySet<string> {
    return this.core.aliveNodes();
  }

  members(): MemberView[] {
    return this.core.memberList();
  }

  isViewStale(): boolean {
    return this.core.isViewStale();
  }

  get stats(): MembershipStats {
    return this.core.stats;
  }

  onChange(listener: (e: MembershipEvent) => void): () => void {
    return this.core.onChange(listener);
  }

  /** Resolves once the view is fresh: joined through a seed, or alone after joinTimeoutMs. */
  ready(): Promise<void> {
    if (!this.core.isViewStale()) return Promise.resolve();
    return new Promise((resolve) => {
      const off = this.core.onChange((e) => {
        if (e.kind === 'view' && !e.stale) {
          off();
          resolve();
        }
      });
    });
  }

  setSeeds(seeds: readonly string[]): void {
    this.core.setSeeds(parseSeeds(seeds, this.port));
  }

  /** Graceful leave (SIGTERM): peers drop us at once. Waits for the datagrams to be handed to the kernel, then closes. */
  async leave(timeoutMs = 1_000): Promise<void> {
    if (this.closed) return;
    const out = this.core.leave(clock());
    await Promise.race([
      Promise.all(out.map((d) => new Promise<void>((resolve) => this.socket.send(d.bytes, d.port, d.address, () => resolve())))),
      new Promise((r) => setTimeout(r, timeoutMs).unref()),
    ]);
    this.close();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.socket.close();
  }

  // The tick runs in the check phase (setImmediate) after the timer fires, so datagrams that
  // arrived while the event loop was busy are read first: an ack waiting in the socket buffer
  // counts before its probe's deadline is judged.
  private schedule(): void {
    this.timer = setTimeout(() => {
      setImmediate(() => {
        if (this.closed) return;
        this.transmit(this.core.tick(clock()));
        this.schedule();
      });
    }, this.core.timing.tickMs);
  }

  private transmit(out: Datagram[]): void {
    for (const d of out) {
      this.socket.send(d.bytes, d.port, d.address, (err) => {
        // EHOSTUNREACH / ENETUNREACH while a link is down are normal; the protocol retries.
        if (err) this.sendErrors++;
      });
    }
  }
}

/** "ip", "ip:port" or "[v6]:port" into addresses; unparsable entries are rejected with the entry named. */
export function parseSeeds(seeds: readonly string[], defaultPort: number): PeerAddress[] {
  return seeds.map((s) => {
    const text = s.trim();
    if (isIP(text)) return { address: text, port: defaultPort };
    const v6 = /^\[([^\]]+)\]:(\d+)$/.exec(text);
    const v4 = /^([^:]+):(\d+)$/.exec(text);
    const m = v6 ?? v4;
    const port = m ? Number(m[2]) : NaN;
    if (!m || isIP(m[1] as string) === 0 || !(port > 0 && port < 65536)) throw new Error(`gossip membership: seed "${s}" is not "ip", "ip:port" or "[ipv6]:port"`);
    return { address: m[1] as string, port };
  });
}
