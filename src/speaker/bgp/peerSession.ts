// One BGP peer's I/O shell: drives the pure BgpSession FSM (fsm.ts) with real TCP connections
// (transport.ts) and timers, and turns the desired RIB into UPDATEs (ribOut.ts). Outbound only,
// like MetalLB's native speaker (spec 4.10): we dial, we never accept.
import type { Socket } from 'node:net';
import { crc32 } from 'node:zlib';
import type { Logger } from 'pino';
import type { BFDProfile } from '../../config/model.js';
import { canonicalIp, ipFamily } from '../../net/address.js';
import { Afi, Safi, type AfiSafi } from './codec/capabilities.js';
import { describeNotification } from './codec/errors.js';
import { BgpSession, type ConnectionId, type SessionAction, type SessionConfig, type SessionEvent, type SessionState, type TimerName } from './fsm.js';
import type { BgpMetrics } from './metrics.js';
import { buildUpdates, initialUpdates, type DesiredRib, type RibOutSession } from './ribOut.js';
import { bgpSessionTtl, type ConnectBgpOptions } from './transport.js';

export type BgpFamily = 'ipv4' | 'ipv6';

/** One session as the caller wants it (a BGPPeer resolved for this node; password already read from its Secret). */
export interface PeerSessionSpec {
  /** Unique per speaker; the key of setDesired. */
  readonly name: string;
  readonly peerAddress: string;
  readonly peerPort: number;
  readonly peerAsn: number;
  readonly localAsn: number;
  /** Dotted IPv4. Unset: the local IPv4 of the TCP connection; IPv6 sessions: CRC32 of the node name (MetalLB native). */
  readonly routerId?: string;
  readonly sourceAddress?: string;
  /** Seconds we offer: 0 or >= 3. */
  readonly holdTime: number;
  readonly password?: string;
  readonly ebgpMultiHop: boolean;
  readonly gracefulRestart: boolean;
  readonly bfd?: BFDProfile;
  /** Families offered with MP capabilities; default both (MetalLB native offers IPv4 and IPv6 unicast). */
  readonly families?: readonly BgpFamily[];
  /** Network namespace to open the connection in (tests, lab); default: the process's own. */
  readonly netns?: string;
}

export interface PeerStatus {
  readonly name: string;
  /** The metrics label: "addr:port". */
  readonly peer: string;
  readonly state: SessionState;
  readonly establishedSince?: Date;
  /** Prefixes the peer currently has from us. */
  readonly prefixesSent: number;
  /** Desired prefixes not sent: session not Established, or family/next hop missing on it. */
  readonly prefixesPending: number;
  readonly lastError?: string;
  /** BFD session state ('Up', 'Down', ...) when the spec has a BFD profile. */
  readonly bfdState?: string;
}

export type Dialer = (opts: ConnectBgpOptions) => Promise<Socket>;

export interface PeerSessionDeps {
  readonly nodeName: string;
  readonly log: Logger;
  readonly metrics?: BgpMetrics;
  readonly metricsLabel: string;
  readonly onStateChange?: (peer: string, state: SessionState, reason: string) => void;
  readonly dial: Dialer;
  /** Seconds between dial attempts while the peer does not answer; also the dial timeout (at most 10 s). */
  readonly connectRetrySeconds: number;
}

/** MetalLB native: 10 s connect timeout. */
export const CONNECT_TIMEOUT_MS = 10_000;
/** MetalLB native reconnect back-off: 0 s, 1 s, doubling, 2 min max. */
export const RESTART_BACKOFF_MS = { first: 0, max: 120_000 } as const;
/** Restart Time we advertise with graceful restart (FRR's default, which MetalLB's FRR modes keep). */
export const GRACEFUL_RESTART_TIME_S = 120;

/** CRC32 of the node name as a dotted IPv4 BGP identifier (MetalLB native, for sessions without a local IPv4). */
export function routerIdFromNodeName(nodeName: string): string {
  const h = crc32(nodeName) >>> 0 || 1; // 0.0.0.0 is not a valid BGP identifier (RFC 6286)
  return [h >>> 24, (h >>> 16) & 0xff, (h >>> 8) & 0xff, h & 0xff].join('.');
}

/** Our BGP identifier for a session: configured, else the connection's local IPv4, else from the node name. */
export function deriveRouterId(spec: Pick<PeerSessionSpec, 'routerId'>, localAddress: string | undefined, nodeName: string): string {
  if (spec.routerId) return spec.routerId;
  const local = localAddress === undefined ? undefined : canonicalIp(localAddress.replace(/^::ffff:(?=\d+\.)/, ''));
  if (local !== undefined && ipFamily(local) === 4) return local;
  return routerIdFromNodeName(nodeName);
}

export function afiSafisOf(families: readonly BgpFamily[] | undefined): AfiSafi[] {
  const list = families && families.length ? [...new Set(families)].sort() : ['ipv4', 'ipv6'];
  return list.map((f) => ({ afi: f === 'ipv4' ? Afi.Ipv4 : Afi.Ipv6, safi: Safi.Unicast }));
}

export class PeerSession {
  private readonly fsm: BgpSession;
  private readonly log: Logger;
  private routerId: string;
  private readonly conns = new Map<ConnectionId, { socket: Socket; localAddress: string }>();
  private readonly closing = new Set<Promise<void>>();
  private nextConnId = 1;
  private dialing: AbortController | undefined;
  private readonly timers = new Map<TimerName, NodeJS.Timeout>();
  private desired: DesiredRib = new Map();
  /** What the peer has from us on the Established connection (diff base). */
  private sent: DesiredRib = new Map();
  private rib: (RibOutSession & { ibgp: boolean }) | undefined;
  private sentCount = 0;
  private lastError: string | undefined;
  /** The connect failure last logged at warn: a peer that never answers is reported once per distinct error, not every retry. */
  private connectFailureLogged: string | undefined;
  private downReason = '';
  private disposed = false;
  private bfdState: string | undefined;

  constructor(
    readonly spec: PeerSessionSpec,
    private readonly deps: PeerSessionDeps,
  ) {
    this.log = deps.log.child({ bgpPeer: spec.name, peerAddress: spec.peerAddress });
    this.routerId = deriveRouterId(spec, undefined, deps.nodeName);
    const families = afiSafisOf(spec.families);
    // The FSM reads routerId when it builds an OPEN; without a configured one it is only known once
    // the TCP connection exists (its local address), so the config exposes the current value.
    const self = this;
    const config: SessionConfig = {
      localAs: spec.localAsn,
      peerAs: spec.peerAsn,
      get routerId() {
        return self.routerId;
      },
      holdTime: spec.holdTime,
      connectRetryTime: deps.connectRetrySeconds,
      passive: false,
      families,
      // The first OPEN of a new speaker carries R (we restarted) and F per family: kube-proxy kept forwarding.
      ...(spec.gracefulRestart ? { gracefulRestart: { restartTime: GRACEFUL_RESTART_TIME_S, restarting: true, forwardingPreserved: true } } : {}),
      restartBackoffMs: RESTART_BACKOFF_MS,
    };
    this.fsm = new BgpSession(config);
    this.bfdState = spec.bfd ? 'Down' : undefined;
  }

  get state(): SessionState {
    return this.fsm.state;
  }

  start(): void {
    this.updateGauges();
    this.feed({ type: 'ManualStart' });
  }

  /** Replaces the desired RIB; sends the difference at once when Established. */
  setDesired(rib: DesiredRib): void {
    this.desired = rib;
    if (this.rib && this.fsm.established) {
      const built = buildUpdates(this.sent, rib, this.rib, this.rib.ibgp);
      this.sent = rib;
      this.sentCount = rib.size - built.unsent.length;
      this.apply(this.fsm.send(built.messages));
    }
    this.updateGauges();
  }

  /** BFD state change of this peer's BFD session; Up -> Down takes the BGP session down (RFC 5882 §4.3). */
  bfdChanged(from: string, to: string, diagnostic: string): void {
    this.bfdState = to;
    if (from === 'Up' && (to === 'Down' || to === 'AdminDown')) {
      this.log.warn({ diagnostic }, 'BFD session down: taking the BGP session down');
      this.lastError = `BFD down (${diagnostic})`;
      this.feed({ type: 'BfdDown' });
    }
  }

  status(): PeerStatus {
    const e = this.fsm.established;
    return {
      name: this.spec.name,
      peer: this.deps.metricsLabel,
      state: this.fsm.state,
      ...(e ? { establishedSince: new Date(e.sinceMs) } : {}),
      prefixesSent: e ? this.sentCount : 0,
      prefixesPending: this.desired.size - (e ? this.sentCount : 0),
      ...(this.lastError ? { lastError: this.lastError } : {}),
      ...(this.bfdState ? { bfdState: this.bfdState } : {}),
    };
  }

  /**
   * Ends the session. graceful: close the TCP connection without a NOTIFICATION, so a peer that
   * negotiated graceful restart keeps our routes as stale (RFC 4724 §4.2); else Cease / Administrative Shutdown.
   */
  async stop(graceful: boolean): Promise<void> {
    if (this.disposed) return;
    this.dialing?.abort();
    this.dialing = undefined;
    this.feed({ type: 'ManualStop', reason: graceful ? 'speaker stopping (graceful restart)' : 'session removed', graceful });
    this.disposed = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    for (const id of [...this.conns.keys()]) this.close(id);
    await Promise.all([...this.closing]);
  }

  private feed(event: SessionEvent): void {
    if (this.disposed) return;
    this.apply(this.fsm.handle(event));
  }

  private apply(actions: readonly SessionAction[]): void {
    for (const a of actions) {
      switch (a.type) {
        case 'Connect':
          this.dial();
          break;
        case 'Send': {
          const c = this.conns.get(a.conn);
          if (!c) break;
          c.socket.write(a.bytes);
          if (a.what === 'update') this.deps.metrics?.updatesTotal.inc({ peer: this.deps.metricsLabel });
          if (a.what === 'notification') this.log.info({ code: a.bytes[19], subcode: a.bytes[20] }, `sending NOTIFICATION ${describeNotification({ code: a.bytes[19] ?? 0, subcode: a.bytes[20] ?? 0 })}`);
          break;
        }
        case 'Close':
          this.close(a.conn);
          break;
        case 'StartTimer': {
          const old = this.timers.get(a.timer);
          if (old) clearTimeout(old);
          const timer = a.timer;
          this.timers.set(
            timer,
            setTimeout(() => {
              this.timers.delete(timer);
              this.feed({ type: 'TimerExpired', timer });
            }, a.ms),
          );
          break;
        }
        case 'StopTimer': {
          const t = this.timers.get(a.timer);
          if (t) clearTimeout(t);
          this.timers.delete(a.timer);
          break;
        }
        case 'StateChanged': {
          const reason = a.to === 'Established' ? 'session established' : this.downReason || `${a.from} -> ${a.to}`;
          this.log.info({ from: a.from, to: a.to, reason }, `BGP session ${a.from} -> ${a.to}`);
          this.deps.onStateChange?.(this.spec.name, a.to, reason);
          this.downReason = '';
          this.updateGauges();
          break;
        }
        case 'Established':
          this.established(a.conn, a.negotiated.families, a.codec.fourOctetAs);
          break;
        case 'Down':
          this.downReason = a.reason;
          if (a.cause.kind !== 'manualStop') this.lastError = a.reason;
          this.log.warn({ reason: a.reason, peerKeepsRoutes: a.peerKeepsRoutes }, 'BGP session down');
          this.rib = undefined;
          this.sent = new Map();
          this.sentCount = 0;
          this.updateGauges();
          break;
        case 'UpdateReceived':
          // Announce-only: the peer's routes are not used (MetalLB native ignores them too).
          if (a.problems.length) this.log.debug({ problems: a.problems.map((p) => p.reason) }, 'UPDATE from peer had attribute problems');
          break;
        case 'EndOfRibReceived':
          break;
        case 'RouteRefreshRequested':
          // RFC 2918: re-advertise everything we have sent.
          if (this.rib) this.apply(this.fsm.send(buildUpdates(new Map(), this.sent, this.rib, this.rib.ibgp).messages));
          break;
      }
    }
  }

  private established(conn: ConnectionId, families: readonly AfiSafi[], fourOctetAs: boolean): void {
    const local = this.conns.get(conn)?.localAddress;
    const fam = local === undefined ? undefined : ipFamily(local);
    const ibgp = this.spec.localAsn === this.spec.peerAsn;
    // NEXT_HOP = our address on the connection (MetalLB native); an IPv6 session's is the global next hop.
    this.rib = {
      localAs: this.spec.localAsn,
      families,
      fourOctetAs,
      ibgp,
      ...(fam === 4 ? { nextHopV4: local } : {}),
      ...(fam === 6 ? { nextHopV6: local } : {}),
    };
    const built = initialUpdates(this.desired, this.rib, ibgp);
    this.sent = this.desired;
    this.sentCount = this.desired.size - built.unsent.length;
    if (built.unsent.length) this.log.info({ unsent: built.unsent.length }, 'some prefixes have no negotiated family or next hop on this session');
    this.apply(this.fsm.send(built.messages));
  }

  private dial(): void {
    this.dialing?.abort();
    const ac = new AbortController();
    this.dialing = ac;
    const s = this.spec;
    const ttl = bgpSessionTtl({ ebgp: s.peerAsn !== s.localAsn, multihop: s.ebgpMultiHop });
    this.deps
      .dial({
        peerAddress: s.peerAddress,
        peerPort: s.peerPort,
        timeoutMs: Math.min(CONNECT_TIMEOUT_MS, this.deps.connectRetrySeconds * 1000),
        signal: ac.signal,
        ...(s.sourceAddress !== undefined ? { sourceAddress: s.sourceAddress } : {}),
        ...(s.password ? { md5Password: s.password } : {}),
        ...(ttl !== undefined ? { ttl } : {}),
        ...(s.netns !== undefined ? { netns: s.netns } : {}),
      })
      .then(
        (socket) => {
          if (ac.signal.aborted || this.disposed) {
            socket.destroy();
            return;
          }
          this.dialing = undefined;
          const id = this.nextConnId++;
          const localAddress = (socket.localAddress ?? '').replace(/^::ffff:(?=\d+\.)/, '');
          this.conns.set(id, { socket, localAddress });
          if (this.connectFailureLogged !== undefined) this.log.info('BGP connect succeeded after failures');
          this.connectFailureLogged = undefined;
          socket.on('data', (bytes: Buffer) => this.feed({ type: 'BytesReceived', conn: id, bytes }));
          socket.on('error', (err) => {
            this.lastError = `TCP: ${err.message}`;
          });
          socket.on('close', () => {
            if (this.conns.get(id)?.socket !== socket) return;
            this.conns.delete(id);
            this.feed({ type: 'TcpConnectionFails', conn: id });
          });
          this.routerId = deriveRouterId(s, localAddress, this.deps.nodeName);
          this.feed({ type: 'TcpConnected', conn: id, direction: 'outbound' });
        },
        (err: Error) => {
          if (ac.signal.aborted || this.disposed) return; // replaced by a newer attempt, or stopped
          this.dialing = undefined;
          this.lastError = err.message;
          // An operator must see why a peer never comes up (nobody listening, wrong address, MD5 key mismatch).
          if (err.message !== this.connectFailureLogged) {
            this.log.warn({ err: err.message, retrySeconds: this.deps.connectRetrySeconds }, `BGP connect to ${s.peerAddress} port ${s.peerPort} failed; retrying`);
            this.connectFailureLogged = err.message;
          } else this.log.debug({ err: err.message }, 'BGP connect failed');
          this.feed({ type: 'TcpConnectionFails', conn: this.nextConnId++ });
        },
      );
  }

  /** Flushes what was written, sends FIN, and forgets the connection (its later events are not the FSM's business). */
  private close(id: ConnectionId): void {
    const c = this.conns.get(id);
    if (!c) return;
    this.conns.delete(id);
    const sock = c.socket;
    const done = new Promise<void>((resolve) => {
      if (sock.destroyed) return resolve();
      const timer = setTimeout(() => sock.destroy(), 2000);
      sock.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      sock.end();
    });
    this.closing.add(done);
    void done.then(() => this.closing.delete(done));
  }

  private updateGauges(): void {
    const m = this.deps.metrics;
    if (!m) return;
    const peer = this.deps.metricsLabel;
    const st = this.status();
    m.sessionUp.set({ peer }, st.state === 'Established' ? 1 : 0);
    m.announcedPrefixes.set({ peer }, st.prefixesSent);
    m.pendingPrefixes.set({ peer }, st.prefixesPending);
  }
}
