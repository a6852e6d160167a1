// The UDP adapter: BFD sessions over real sockets (RFC 5881 single hop on 3784, RFC 5883
// multihop on 4784). One listening socket per address family and port; each session sends from
// its own socket bound to a source port in 49152-65535 (RFC 5881 §4: one port per session) with
// TTL/hop limit 255. Received packets are demultiplexed by Your Discriminator, or by the peer
// address while the peer does not know ours yet. TTL checks run in the kernel (ttlGuard.ts).
import { spawnSync } from 'node:child_process';
import { randomInt } from 'node:crypto';
import dgram from 'node:dgram';
import { canonicalIp, ipFamily } from '../../net/address.js';
import type { BFDProfile } from '../../config/model.js';
import { BFD_STATE_NAMES, BfdState, decodeControlPacket, diagnosticName, encodeControlPacket, type BfdControlPacket } from './codec.js';
import { BfdSession, type BfdActions } from './session.js';
import { MULTIHOP_PORT, SINGLE_HOP_PORT, renderTtlGuard } from './ttlGuard.js';

export interface BfdSessionSpec {
  readonly peer: string;
  /** Source address; required to pick the source of our packets on multi-homed hosts. */
  readonly local?: string;
  readonly multihop: boolean;
  readonly profile: BFDProfile;
}

export interface BfdStateEvent {
  readonly peer: string;
  readonly local: string | undefined;
  readonly multihop: boolean;
  readonly from: string;
  readonly to: string;
  readonly diagnostic: number;
  readonly diagnosticText: string;
  /** Wall clock (ms) when the change was decided. */
  readonly at: number;
  /** Detection expiry only: event-loop lateness of the detection timer (ms). */
  readonly lateMs?: number;
}

export interface BfdSessionStatus {
  readonly peer: string;
  readonly local: string | undefined;
  readonly multihop: boolean;
  readonly state: string;
  readonly localDiscriminator: number;
  readonly remoteDiscriminator: number;
  readonly transmitIntervalMs: number;
  readonly detectionTimeMs: number;
}

export interface BfdManagerOptions {
  /** Install the nftables TTL guard (GTSM). Needs CAP_NET_ADMIN and `nft`. Default true. */
  readonly ttlGuard?: boolean;
  readonly onError?: (err: Error) => void;
  /** Listening ports, for tests only (defaults 3784 / 4784). */
  readonly ports?: { readonly singleHop: number; readonly multihop: number };
}

interface LiveSession {
  spec: BfdSessionSpec;
  readonly key: string;
  readonly family: 4 | 6;
  readonly core: BfdSession;
  readonly socket: dgram.Socket;
  timer: NodeJS.Timeout | undefined;
}

const SOURCE_PORT_MIN = 49152;
const SOURCE_PORT_MAX = 65535;

function sessionKey(peer: string, multihop: boolean): string {
  return `${multihop ? 'mh' : 'sh'}|${peer}`;
}

export class BfdManager {
  private readonly sessions = new Map<string, LiveSession>();
  private readonly byDiscriminator = new Map<number, LiveSession>();
  private readonly listeners = new Map<string, dgram.Socket>();
  private readonly callbacks: ((e: BfdStateEvent) => void)[] = [];
  private readonly onError: (err: Error) => void;
  private readonly ports: { readonly singleHop: number; readonly multihop: number };
  private readonly ttlGuard: boolean;
  private closed = false;
  /** Packets dropped before reaching a session, by reason (decode failures, unknown session). */
  readonly dropped = new Map<string, number>();

  constructor(opts: BfdManagerOptions = {}) {
    this.onError = opts.onError ?? (() => {});
    this.ports = opts.ports ?? { singleHop: SINGLE_HOP_PORT, multihop: MULTIHOP_PORT };
    this.ttlGuard = opts.ttlGuard ?? true;
  }

  onStateChange(cb: (e: BfdStateEvent) => void): void {
    this.callbacks.push(cb);
  }

  status(): BfdSessionStatus[] {
    return [...this.sessions.values()].map((s) => ({
      peer: s.spec.peer,
      local: s.spec.local,
      multihop: s.spec.multihop,
      state: BFD_STATE_NAMES[s.core.sessionState],
      localDiscriminator: s.core.localDiscriminator,
      remoteDiscriminator: s.core.remoteDiscriminator,
      transmitIntervalMs: s.core.transmitIntervalMs(),
      detectionTimeMs: s.core.detectionTimeMs(),
    }));
  }

  /** Starts (or re-profiles) the session to `spec.peer`. Resolves once its sockets are bound. */
  async addSession(spec: BfdSessionSpec): Promise<void> {
    if (this.closed) throw new Error('BfdManager is closed');
    const peer = canonicalIp(spec.peer);
    const family = peer === undefined ? undefined : ipFamily(peer);
    if (peer === undefined || family === undefined) throw new Error(`BFD session: peer "${spec.peer}" is not an IP address`);
    const local = spec.local === undefined ? undefined : canonicalIp(spec.local);
    if (spec.local !== undefined && (local === undefined || ipFamily(local) !== family)) {
      throw new Error(`BFD session to ${peer}: local address "${spec.local}" is not an IPv${family} address`);
    }
    if (spec.profile.echoMode) {
      this.onError(new Error(`BFDProfile "${spec.profile.name}": echoMode is not supported by ironlb's BFD; the session to ${peer} runs in asynchronous mode without echo`));
    }
    const normalized: BfdSessionSpec = { ...spec, peer, local };
    const key = sessionKey(peer, spec.multihop);
    const existing = this.sessions.get(key);
    // A new source address needs a new socket: start over (the peer sees AdminDown, then Down).
    if (existing && existing.spec.local !== local) this.removeSession(peer, spec.multihop);
    else if (existing) {
      const ttlChanged = existing.spec.profile.minimumTtl !== spec.profile.minimumTtl;
      existing.spec = normalized;
      this.act(existing, existing.core.setTimers(spec.profile, Date.now()));
      this.schedule(existing);
      if (spec.multihop && ttlChanged) this.applyTtlGuard();
      return;
    }
    await this.listener(family, spec.multihop ? this.ports.multihop : this.ports.singleHop);
    const socket = await this.bindSourceSocket(family, local);
    let discriminator: number;
    do discriminator = randomInt(1, 0xffff_ffff); while (this.byDiscriminator.has(discriminator));
    const core = new BfdSession({ localDiscriminator: discriminator, timers: spec.profile, now: Date.now(), random: Math.random });
    const live: LiveSession = { spec: normalized, key, family, core, socket, timer: undefined };
    this.sessions.set(key, live);
    this.byDiscriminator.set(discriminator, live);
    if (spec.multihop || this.sessions.size === 1) this.applyTtlGuard();
    this.schedule(live);
  }

  /** Stops the session, telling the peer AdminDown first (RFC 5880 §6.8.16). */
  removeSession(peer: string, multihop = false): void {
    const key = sessionKey(canonicalIp(peer) ?? peer, multihop);
    const live = this.sessions.get(key);
    if (!live) return;
    for (const p of live.core.adminDown(Date.now()).send) this.transmit(live, p);
    this.sessions.delete(key);
    this.byDiscriminator.delete(live.core.localDiscriminator);
    if (live.timer) clearTimeout(live.timer);
    // Let the AdminDown datagram leave before the socket goes.
    setImmediate(() => live.socket.close());
    if (multihop) this.applyTtlGuard();
  }

  async close(): Promise<void> {
    for (const s of [...this.sessions.values()]) this.removeSession(s.spec.peer, s.spec.multihop);
    this.closed = true;
    await new Promise((r) => setTimeout(r, 10));
    for (const l of this.listeners.values()) l.close();
    this.listeners.clear();
    if (this.ttlGuard) spawnSync('nft', ['delete', 'table', 'inet', 'ironlb_bfd'], { stdio: 'ignore' });
  }

  private count(reason: string): void {
    this.dropped.set(reason, (this.dropped.get(reason) ?? 0) + 1);
  }

  private applyTtlGuard(): void {
    if (!this.ttlGuard) return;
    const rules = [...this.sessions.values()].filter((s) => s.spec.multihop).map((s) => ({ peer: s.spec.peer, minimumTtl: s.spec.profile.minimumTtl }));
    const r = spawnSync('nft', ['-f', '-'], { input: renderTtlGuard(rules), encoding: 'utf8' });
    if (r.status !== 0) {
      this.onError(new Error(`BFD TTL guard (nftables table inet ironlb_bfd) not installed, so GTSM (RFC 5881 §5) is not enforced: ${(r.stderr || r.error?.message || '').trim()}; run the speaker with CAP_NET_ADMIN and nft installed`));
    }
  }

  private async listener(family: 4 | 6, port: number): Promise<void> {
    const key = `${family}|${port}`;
    if (this.listeners.has(key)) return;
    const sock = dgram.createSocket({ type: family === 4 ? 'udp4' : 'udp6', ipv6Only: family === 6, reuseAddr: true });
    sock.on('error', (err) => this.onError(err));
    sock.on('message', (msg, rinfo) => this.onDatagram(msg, rinfo.address, port === this.ports.multihop));
    this.listeners.set(key, sock);
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.bind(port, family === 4 ? '0.0.0.0' : '::', () => {
        sock.off('error', reject);
        resolve();
      });
    });
  }

  private async bindSourceSocket(family: 4 | 6, local: string | undefined): Promise<dgram.Socket> {
    for (let attempt = 0; ; attempt++) {
      const port = randomInt(SOURCE_PORT_MIN, SOURCE_PORT_MAX + 1);
      const sock = dgram.createSocket({ type: family === 4 ? 'udp4' : 'udp6', ipv6Only: family === 6 });
      try {
        await new Promise<void>((resolve, reject) => {
          sock.once('error', reject);
          sock.bind(port, local, () => {
            sock.off('error', reject);
            resolve();
          });
        });
      } catch (err) {
        sock.close();
        if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE' && attempt < 50) continue;
        throw err;
      }
      sock.setTTL(255); // IP_TTL or IPV6_UNICAST_HOPS (libuv picks by family)
      sock.on('error', (err) => this.onError(err));
      // Replies go to 3784/4784; anything arriving here is not for us.
      sock.on('message', () => this.count('datagram on a source port'));
      return sock;
    }
  }

  private onDatagram(msg: Buffer, from: string, multihop: boolean): void {
    const decoded = decodeControlPacket(msg);
    if (!decoded.ok) {
      this.count(decoded.reason);
      return;
    }
    const p = decoded.packet;
    const source = canonicalIp(from.replace(/%.*$/, '')) ?? from;
    const live = p.yourDiscriminator !== 0 ? this.byDiscriminator.get(p.yourDiscriminator) : this.sessions.get(sessionKey(source, multihop));
    if (!live || live.spec.peer !== source || live.spec.multihop !== multihop) {
      this.count(p.yourDiscriminator !== 0 ? 'unknown Your Discriminator' : 'no session for this peer');
      return;
    }
    this.act(live, live.core.receive(p, Date.now()));
    this.schedule(live);
  }

  private act(live: LiveSession, actions: BfdActions): void {
    for (const p of actions.send) this.transmit(live, p);
    for (const c of actions.stateChanges) {
      const e: BfdStateEvent = {
        peer: live.spec.peer,
        local: live.spec.local,
        multihop: live.spec.multihop,
        from: BFD_STATE_NAMES[c.from],
        to: BFD_STATE_NAMES[c.to],
        diagnostic: c.diagnostic,
        diagnosticText: diagnosticName(c.diagnostic),
        at: Date.now(),
        ...(c.lateMs === undefined ? {} : { lateMs: c.lateMs }),
      };
      for (const cb of this.callbacks) {
        try {
          cb(e);
        } catch (err) {
          this.onError(err as Error);
        }
      }
    }
  }

  private transmit(live: LiveSession, p: BfdControlPacket): void {
    const port = live.spec.multihop ? this.ports.multihop : this.ports.singleHop;
    live.socket.send(encodeControlPacket(p), port, live.spec.peer, (err) => {
      if (err) this.onError(err);
    });
  }

  private schedule(live: LiveSession): void {
    if (live.timer) clearTimeout(live.timer);
    live.timer = undefined;
    if (!this.sessions.has(live.key)) return;
    const at = live.core.nextDeadline();
    if (!Number.isFinite(at)) return;
    live.timer = setTimeout(() => {
      live.timer = undefined;
      // setImmediate runs after the poll phase: datagrams that arrived while the loop was
      // blocked are read first, so a stalled loop does not expire the detection timer by itself.
      setImmediate(() => {
        if (!this.sessions.has(live.key)) return;
        this.act(live, live.core.tick(Date.now()));
        this.schedule(live);
      });
    }, Math.max(0, Math.ceil(at - Date.now())));
  }
}

export { BfdState };
