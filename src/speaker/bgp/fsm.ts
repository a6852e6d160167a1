// BGP session state machine (RFC 4271 §8) for one peer. Pure: events in, actions out; the adapter owns sockets
// and timers. Up to two TCP connections may race (one we dial, one the peer dials): collision detection, §6.8.
import type { AfiSafi, Capability, Negotiated } from './codec/capabilities.js';
import { negotiate, peerAsOf } from './codec/capabilities.js';
import type { SessionCodecContext } from './codec/attributes.js';
import { AS_TRANS } from './codec/attributes.js';
import { CeaseSubcode, describeNotification, ErrorCode, FsmSubcode, notification, OpenSubcode, type NotificationMessage } from './codec/errors.js';
import { decodeMessage, encodeMessage, endOfRibFamily, MessageFramer, type BgpMessage, type OpenMessage, type UpdateMessage } from './codec/messages.js';
import type { AttributeProblem } from './codec/attributes.js';
import { u16Bytes, readU32 } from './codec/bytes.js';
import { ipToBytes } from '../../net/address.js';

export type SessionState = 'Idle' | 'Connect' | 'Active' | 'OpenSent' | 'OpenConfirm' | 'Established';
/** idleHold: the back-off before an automatic restart after the session went down. */
export type TimerName = 'connectRetry' | 'hold' | 'keepalive' | 'idleHold';
/** Chosen by the adapter, unique per TCP connection of this session. */
export type ConnectionId = number;

export interface SessionConfig {
  readonly localAs: number;
  readonly peerAs: number;
  /** Our BGP identifier, dotted IPv4. */
  readonly routerId: string;
  /** Seconds we offer; 0 or >= 3 (MetalLB native default 90). */
  readonly holdTime: number;
  /** Seconds between outbound connection attempts (RFC 4271 §10 suggests 120). */
  readonly connectRetryTime: number;
  /** Never dial; wait for the peer (RFC 4271 §8.1.1 PassiveTcpEstablishment). */
  readonly passive: boolean;
  readonly families: readonly AfiSafi[];
  /** Send the graceful-restart capability (RFC 4724). */
  readonly gracefulRestart?: {
    readonly restartTime: number;
    /** We came back from a restart: set R and keep the peer's stale routes until our End-of-RIB. */
    readonly restarting: boolean;
    /** F bit per family: the data plane (kube-proxy) kept forwarding while we were gone. */
    readonly forwardingPreserved: boolean;
  };
  /** Automatic restart back-off in ms: first, doubling up to max (MetalLB native: 0 s, 1 s, ... 2 min). */
  readonly restartBackoffMs?: { readonly first: number; readonly max: number };
}

export type SessionEvent =
  | { readonly type: 'ManualStart' }
  /**
   * `graceful`: close without a NOTIFICATION so a GR-capable peer keeps our routes as stale while we restart
   * (RFC 4724 §4.2); otherwise Cease / Administrative Shutdown.
   */
  | { readonly type: 'ManualStop'; readonly reason?: string; readonly graceful?: boolean }
  | { readonly type: 'TimerExpired'; readonly timer: TimerName }
  /** A TCP connection came up: one we dialled (outbound) or one the peer dialled and we accepted (inbound). */
  | { readonly type: 'TcpConnected'; readonly conn: ConnectionId; readonly direction: 'outbound' | 'inbound' }
  /** Dial failed, or an open connection closed or errored. */
  | { readonly type: 'TcpConnectionFails'; readonly conn: ConnectionId }
  | { readonly type: 'BytesReceived'; readonly conn: ConnectionId; readonly bytes: Uint8Array }
  /** RFC 5882 §4.3: BFD says the path is gone, take the session down. */
  | { readonly type: 'BfdDown' };

export type DownCause =
  | { readonly kind: 'notificationSent'; readonly code: number; readonly subcode: number }
  | { readonly kind: 'notificationReceived'; readonly code: number; readonly subcode: number; readonly data: Uint8Array }
  | { readonly kind: 'connectionLost' }
  | { readonly kind: 'manualStop' };

export type SessionAction =
  /** Dial the peer; a later TcpConnected/TcpConnectionFails reports the result. Replaces an attempt in flight. */
  | { readonly type: 'Connect' }
  | { readonly type: 'Send'; readonly conn: ConnectionId; readonly bytes: Uint8Array; readonly what: BgpMessage['type'] }
  /** Close after flushing what was sent before. */
  | { readonly type: 'Close'; readonly conn: ConnectionId }
  | { readonly type: 'StartTimer'; readonly timer: TimerName; readonly ms: number }
  | { readonly type: 'StopTimer'; readonly timer: TimerName }
  | { readonly type: 'StateChanged'; readonly from: SessionState; readonly to: SessionState }
  /** Send the desired RIB now (ribOut.initialUpdates with `codec`). */
  | { readonly type: 'Established'; readonly conn: ConnectionId; readonly negotiated: Negotiated; readonly codec: SessionCodecContext }
  /**
   * `peerKeepsRoutes`: GR was negotiated and the session ended without a NOTIFICATION, so the peer keeps our
   * routes as stale for the restart time (RFC 4724 §4.2).
   */
  | { readonly type: 'Down'; readonly reason: string; readonly cause: DownCause; readonly peerKeepsRoutes: boolean }
  | { readonly type: 'UpdateReceived'; readonly update: UpdateMessage; readonly problems: readonly AttributeProblem[]; readonly treatedAsWithdraw: boolean }
  | { readonly type: 'EndOfRibReceived'; readonly afi: number; readonly safi: number }
  | { readonly type: 'RouteRefreshRequested'; readonly afi: number; readonly safi: number };

interface Connection {
  readonly id: ConnectionId;
  readonly direction: 'outbound' | 'inbound';
  readonly framer: MessageFramer;
  phase: 'openSent' | 'openConfirm' | 'established';
  negotiated?: Negotiated;
}

/** Hold time while waiting for the peer's OPEN (RFC 4271 §8.2.2: "a large value", 4 minutes suggested). */
export const OPEN_SENT_HOLD_MS = 240_000;

export class BgpSession {
  private base: 'Idle' | 'Connect' | 'Active' = 'Idle';
  private readonly conns = new Map<ConnectionId, Connection>();
  private stopped = true;
  private backoffMs: number;
  private restarting: boolean;
  private establishedAtMs: number | undefined;

  constructor(
    readonly config: SessionConfig,
    private readonly now: () => number = Date.now,
  ) {
    this.backoffMs = config.restartBackoffMs?.first ?? 0;
    this.restarting = config.gracefulRestart?.restarting ?? false;
  }

  get state(): SessionState {
    const phases = [...this.conns.values()].map((c) => c.phase);
    if (phases.includes('established')) return 'Established';
    if (phases.includes('openConfirm')) return 'OpenConfirm';
    if (phases.length) return 'OpenSent';
    return this.base;
  }

  get ibgp(): boolean {
    return this.config.localAs === this.config.peerAs;
  }

  /** The Established connection and what was negotiated on it. */
  get established(): { conn: ConnectionId; negotiated: Negotiated; codec: SessionCodecContext; sinceMs: number } | undefined {
    for (const c of this.conns.values()) {
      if (c.phase === 'established' && c.negotiated) {
        return { conn: c.id, negotiated: c.negotiated, codec: this.codecOf(c.negotiated), sinceMs: this.establishedAtMs ?? 0 };
      }
    }
    return undefined;
  }

  /** Send pre-encoded UPDATEs (ribOut) on the Established connection; nothing when not Established. */
  send(messages: readonly Uint8Array[]): SessionAction[] {
    const e = this.established;
    return e ? messages.map((bytes) => ({ type: 'Send', conn: e.conn, bytes, what: 'update' as const })) : [];
  }

  handle(event: SessionEvent): SessionAction[] {
    const before = this.state;
    const out: SessionAction[] = [];
    this.dispatch(event, out);
    const after = this.state;
    if (after !== before) out.push({ type: 'StateChanged', from: before, to: after });
    return out;
  }

  /** Our OPEN (RFC 4271 §4.2; AS_TRANS in My AS when our AS needs 4 octets, RFC 6793 §4.1). */
  localOpen(): OpenMessage {
    const c = this.config;
    const caps: Capability[] = [
      ...c.families.map((f) => ({ kind: 'multiprotocol' as const, afi: f.afi, safi: f.safi })),
      { kind: 'routeRefresh' },
      { kind: 'fourOctetAs', asn: c.localAs },
    ];
    if (c.gracefulRestart) {
      caps.push({
        kind: 'gracefulRestart',
        restarting: this.restarting,
        notification: false,
        restartTime: c.gracefulRestart.restartTime,
        families: c.families.map((f) => ({ ...f, forwardingPreserved: c.gracefulRestart!.forwardingPreserved })),
      });
    }
    return { type: 'open', version: 4, myAs: c.localAs > 0xffff ? AS_TRANS : c.localAs, holdTime: c.holdTime, bgpId: c.routerId, capabilities: caps };
  }

  private codecOf(n: Negotiated): SessionCodecContext {
    return { fourOctetAs: n.fourOctetAs, ibgp: this.ibgp };
  }

  private dispatch(e: SessionEvent, out: SessionAction[]): void {
    switch (e.type) {
      case 'ManualStart':
        if (!this.stopped && this.state !== 'Idle') return;
        this.stopped = false;
        this.start(out);
        return;
      case 'ManualStop':
        this.stopped = true;
        this.down(out, e.reason ?? 'stopped', { kind: 'manualStop' }, e.graceful ? undefined : notification(ErrorCode.Cease, CeaseSubcode.AdministrativeShutdown));
        this.base = 'Idle';
        out.push({ type: 'StopTimer', timer: 'idleHold' });
        return;
      case 'BfdDown':
        if (this.conns.size === 0) return;
        this.down(out, 'BFD session down', { kind: 'connectionLost' }, notification(ErrorCode.Cease, CeaseSubcode.BfdDown));
        return;
      case 'TimerExpired':
        return this.timer(e.timer, out);
      case 'TcpConnected':
        return this.connected(e.conn, e.direction, out);
      case 'TcpConnectionFails': {
        const c = this.conns.get(e.conn);
        if (!c) {
          // A dial that failed before a connection existed: RFC 4271 §8.2.2 Connect -> Active.
          if (this.base === 'Connect' && this.conns.size === 0) {
            this.base = 'Active';
            out.push({ type: 'StartTimer', timer: 'connectRetry', ms: this.config.connectRetryTime * 1000 });
          }
          return;
        }
        if (this.conns.size > 1 && c.phase !== 'established') {
          this.conns.delete(c.id); // the other racing connection carries on
          return;
        }
        this.down(out, 'TCP connection closed', { kind: 'connectionLost' });
        return;
      }
      case 'BytesReceived': {
        const c = this.conns.get(e.conn);
        if (!c) return;
        const { frames, error } = c.framer.push(e.bytes);
        for (const f of frames) {
          if (!this.conns.has(c.id)) return;
          this.message(c, f, out);
        }
        if (error && this.conns.has(c.id)) this.fail(c, error.notification, error.reason, out);
        return;
      }
    }
  }

  private start(out: SessionAction[]): void {
    out.push({ type: 'StopTimer', timer: 'idleHold' });
    if (this.config.passive) {
      this.base = 'Active';
      return;
    }
    this.base = 'Connect';
    out.push({ type: 'Connect' }, { type: 'StartTimer', timer: 'connectRetry', ms: this.config.connectRetryTime * 1000 });
  }

  private timer(t: TimerName, out: SessionAction[]): void {
    const state = this.state;
    switch (t) {
      case 'idleHold':
        if (!this.stopped && state === 'Idle') this.start(out);
        return;
      case 'connectRetry':
        if ((state === 'Connect' || state === 'Active') && !this.config.passive) {
          this.base = 'Connect';
          out.push({ type: 'Connect' }, { type: 'StartTimer', timer: 'connectRetry', ms: this.config.connectRetryTime * 1000 });
        }
        return;
      case 'hold':
        if (this.conns.size) this.down(out, 'hold timer expired', undefined, notification(ErrorCode.HoldTimerExpired, 0));
        return;
      case 'keepalive': {
        const live = [...this.conns.values()].filter((c) => c.phase !== 'openSent' && c.negotiated);
        for (const c of live) out.push(this.sendMsg(c.id, { type: 'keepalive' }));
        const k = live[0]?.negotiated?.keepaliveTime ?? 0;
        if (k > 0) out.push({ type: 'StartTimer', timer: 'keepalive', ms: k * 1000 });
        return;
      }
    }
  }

  private connected(id: ConnectionId, direction: 'outbound' | 'inbound', out: SessionAction[]): void {
    const state = this.state;
    // Idle refuses connections (RFC 4271 §8.2.2); at most two racing connections are worth keeping.
    if (state === 'Idle' || this.conns.size >= 2 || this.conns.has(id)) {
      out.push({ type: 'Close', conn: id });
      return;
    }
    if (state === 'Connect' || state === 'Active') {
      out.push({ type: 'StopTimer', timer: 'connectRetry' }, { type: 'StartTimer', timer: 'hold', ms: OPEN_SENT_HOLD_MS });
    }
    this.conns.set(id, { id, direction, framer: new MessageFramer(), phase: 'openSent' });
    out.push(this.sendMsg(id, this.localOpen()));
  }

  private sendMsg(conn: ConnectionId, m: BgpMessage, ctx?: SessionCodecContext): SessionAction {
    return { type: 'Send', conn, bytes: encodeMessage(m, ctx), what: m.type };
  }

  private message(c: Connection, frame: Uint8Array, out: SessionAction[]): void {
    const ctx = c.negotiated ? this.codecOf(c.negotiated) : { fourOctetAs: true, ibgp: this.ibgp };
    const r = decodeMessage(frame, ctx);
    if (!r.ok) return this.fail(c, r.notification, r.reason, out);
    const m = r.message;
    if (m.type === 'notification') {
      this.closeConn(c, out);
      if (c.phase === 'established' || this.conns.size === 0) {
        this.down(out, `peer sent NOTIFICATION: ${describeNotification(m)}`, { kind: 'notificationReceived', code: m.code, subcode: m.subcode, data: m.data });
      }
      return;
    }
    if (c.phase === 'openSent') {
      if (m.type !== 'open') return this.fail(c, notification(ErrorCode.Fsm, FsmSubcode.UnexpectedInOpenSent), `${m.type} before OPEN`, out);
      return this.open(c, m, out);
    }
    if (c.phase === 'openConfirm') {
      if (m.type !== 'keepalive') return this.fail(c, notification(ErrorCode.Fsm, FsmSubcode.UnexpectedInOpenConfirm), `${m.type} in OpenConfirm`, out);
      return this.establish(c, out);
    }
    // Established: every message proves liveness (RFC 4271 §8.2.2 restarts the hold timer).
    const hold = c.negotiated!.holdTime;
    if (hold > 0) out.push({ type: 'StartTimer', timer: 'hold', ms: hold * 1000 });
    switch (m.type) {
      case 'open':
        return this.fail(c, notification(ErrorCode.Fsm, FsmSubcode.UnexpectedInEstablished), 'OPEN in Established', out);
      case 'keepalive':
        return;
      case 'routeRefresh':
        out.push({ type: 'RouteRefreshRequested', afi: m.afi, safi: m.safi });
        return;
      case 'update': {
        const eor = endOfRibFamily(m);
        if (eor) out.push({ type: 'EndOfRibReceived', ...eor });
        else out.push({ type: 'UpdateReceived', update: m, problems: r.problems ?? [], treatedAsWithdraw: r.treatedAsWithdraw ?? false });
        return;
      }
    }
  }

  /** Checks the peer's OPEN against our configuration (RFC 4271 §6.2); codec-level checks already passed. */
  private checkOpen(m: OpenMessage): { n: NotificationMessage; reason: string } | undefined {
    const peerAs = peerAsOf(m);
    if (peerAs !== this.config.peerAs) {
      return { n: notification(ErrorCode.Open, OpenSubcode.BadPeerAs, u16Bytes(m.myAs)), reason: `peer AS ${peerAs}, configured ${this.config.peerAs}` };
    }
    // RFC 6286 §2.2: within one AS identifiers must differ.
    if (this.ibgp && m.bgpId === this.config.routerId) {
      return { n: notification(ErrorCode.Open, OpenSubcode.BadBgpIdentifier), reason: `peer BGP identifier ${m.bgpId} equals ours` };
    }
    return undefined;
  }

  private open(c: Connection, m: OpenMessage, out: SessionAction[]): void {
    const bad = this.checkOpen(m);
    if (bad) return this.fail(c, bad.n, bad.reason, out);
    const negotiated = negotiate({ holdTime: this.config.holdTime, capabilities: this.localOpen().capabilities }, m);
    const other = [...this.conns.values()].find((o) => o.id !== c.id);
    if (other && other.phase !== 'openSent') {
      if (other.phase === 'established') {
        // RFC 4724 §4.2: a new OPEN from a GR-capable peer means it restarted; the old session is gone.
        if (other.negotiated?.peerGracefulRestart) {
          this.conns.delete(other.id);
          out.push({ type: 'Close', conn: other.id });
          out.push({ type: 'Down', reason: 'peer restarted (graceful restart)', cause: { kind: 'connectionLost' }, peerKeepsRoutes: true });
        } else return this.collisionLoser(c, out);
      } else {
        // RFC 4271 §6.8: the connection opened by the speaker with the higher BGP identifier survives.
        const localWins = readU32(ipToBytes(this.config.routerId)!, 0) > readU32(ipToBytes(m.bgpId)!, 0);
        const loser = localWins === (c.direction === 'inbound') ? c : other;
        this.collisionLoser(loser, out);
        if (loser === c) return;
      }
    }
    c.negotiated = negotiated;
    c.phase = 'openConfirm';
    out.push(this.sendMsg(c.id, { type: 'keepalive' }));
    if (negotiated.holdTime > 0) {
      out.push({ type: 'StartTimer', timer: 'hold', ms: negotiated.holdTime * 1000 });
      out.push({ type: 'StartTimer', timer: 'keepalive', ms: negotiated.keepaliveTime * 1000 });
    } else out.push({ type: 'StopTimer', timer: 'hold' }, { type: 'StopTimer', timer: 'keepalive' });
  }

  private collisionLoser(c: Connection, out: SessionAction[]): void {
    out.push(this.sendMsg(c.id, notification(ErrorCode.Cease, CeaseSubcode.ConnectionCollisionResolution)));
    this.closeConn(c, out);
  }

  private establish(c: Connection, out: SessionAction[]): void {
    c.phase = 'established';
    this.establishedAtMs = this.now();
    this.backoffMs = this.config.restartBackoffMs?.first ?? 0;
    this.restarting = false; // R bit only in the first OPEN after our restart (RFC 4724 §3)
    const n = c.negotiated!;
    if (n.holdTime > 0) out.push({ type: 'StartTimer', timer: 'hold', ms: n.holdTime * 1000 });
    out.push({ type: 'Established', conn: c.id, negotiated: n, codec: this.codecOf(n) });
  }

  private closeConn(c: Connection, out: SessionAction[]): void {
    this.conns.delete(c.id);
    out.push({ type: 'Close', conn: c.id });
  }

  /** A protocol error on one connection: NOTIFICATION, close; the session goes down if it was the last one. */
  private fail(c: Connection, n: NotificationMessage, reason: string, out: SessionAction[]): void {
    if (this.conns.size > 1 && c.phase === 'openSent') {
      out.push(this.sendMsg(c.id, n));
      this.closeConn(c, out);
      return;
    }
    this.down(out, `${describeNotification(n)}: ${reason}`, undefined, n);
  }

  /** Everything goes: NOTIFICATION (if any) and close on every connection, timers off, Idle, restart later. */
  private down(out: SessionAction[], reason: string, cause: DownCause | undefined, n?: NotificationMessage): void {
    const wasEstablished = this.established;
    for (const c of this.conns.values()) {
      if (n) out.push(this.sendMsg(c.id, n));
      out.push({ type: 'Close', conn: c.id });
    }
    const hadSession = this.conns.size > 0 || this.base !== 'Idle';
    this.conns.clear();
    this.base = 'Idle';
    out.push({ type: 'StopTimer', timer: 'connectRetry' }, { type: 'StopTimer', timer: 'hold' }, { type: 'StopTimer', timer: 'keepalive' });
    const finalCause: DownCause = cause ?? (n ? { kind: 'notificationSent', code: n.code, subcode: n.subcode } : { kind: 'connectionLost' });
    if (hadSession) {
      const gr = wasEstablished?.negotiated.peerGracefulRestart !== undefined;
      // RFC 4724 §4.2: only a session lost without NOTIFICATION leaves the peer holding our routes as stale.
      const peerKeepsRoutes = gr && n === undefined;
      out.push({ type: 'Down', reason, cause: finalCause, peerKeepsRoutes });
    }
    if (!this.stopped) {
      out.push({ type: 'StartTimer', timer: 'idleHold', ms: this.backoffMs });
      const max = this.config.restartBackoffMs?.max ?? 120_000;
      this.backoffMs = Math.min(max, this.backoffMs === 0 ? 1000 : this.backoffMs * 2);
    }
  }
}
