// One BFD session (RFC 5880 §6.2 state machine, §6.8 procedures) in asynchronous mode.
// Pure: time comes in as `now` (ms), randomness through an injected function, and every call
// returns what to do (packets to send, state changes). The caller owns sockets and timers and
// calls `tick(now)` at `nextDeadline()`.
// Echo mode and Demand mode are not implemented: we always advertise Required Min Echo RX 0
// (so no peer echoes to us) and never set the D bit; a peer's D bit is honoured (§6.8.7).
import { BFD_STATE_NAMES, BfdDiagnostic, BfdState, controlPacket, type BfdControlPacket } from './codec.js';

/** The BFDProfile fields a session runs on (milliseconds, as in the CRD). */
export interface BfdTimers {
  readonly receiveInterval: number;
  readonly transmitInterval: number;
  readonly detectMultiplier: number;
  readonly passiveMode: boolean;
}

/** §6.8.3: while not Up, Desired Min TX is at least one second. */
export const SLOW_TX_INTERVAL_MS = 1000;

export interface BfdStateChange {
  readonly from: BfdState;
  readonly to: BfdState;
  readonly diagnostic: number;
  /** Detection expiry only: how late `tick` ran after the detection deadline (ms). */
  readonly lateMs?: number;
}

export interface BfdActions {
  readonly send: BfdControlPacket[];
  readonly stateChanges: BfdStateChange[];
}

export interface BfdSessionOptions {
  readonly localDiscriminator: number;
  readonly timers: BfdTimers;
  readonly now: number;
  /** Uniform in [0, 1); jitter source. */
  readonly random: () => number;
}

const US_PER_MS = 1000;

export class BfdSession {
  readonly localDiscriminator: number;
  private timersConfig: BfdTimers;
  private readonly random: () => number;

  private state: BfdState = BfdState.Down;
  private localDiag: number = BfdDiagnostic.None;
  private remoteDiscr = 0;
  private remoteState: BfdState = BfdState.Down;
  private remoteDemand = false;
  /** µs, as received; 0 = the remote wants no packets. */
  private remoteMinRx = 1;
  private remoteDesiredMinTx = 0;
  private remoteDetectMult = 0;

  /** Desired Min TX we advertise (µs) and the one governing our rate while a Poll is outstanding. */
  private advertisedTx: number;
  private effectiveTx: number;
  /** Required Min RX we advertise (µs) and the one used for the detection time during a Poll. */
  private advertisedRx: number;
  private detectionRx: number;
  private pollPending = false;

  private nextTxAt: number;
  /** When the detection timer fires; undefined while not armed. */
  private detectAt: number | undefined;
  private lastRxAt: number | undefined;

  constructor(opts: BfdSessionOptions) {
    if (!Number.isInteger(opts.localDiscriminator) || opts.localDiscriminator <= 0 || opts.localDiscriminator > 0xffff_ffff) {
      throw new Error(`BFD local discriminator ${opts.localDiscriminator} must be a non-zero 32-bit integer`);
    }
    this.localDiscriminator = opts.localDiscriminator;
    this.timersConfig = opts.timers;
    this.random = opts.random;
    this.advertisedTx = this.effectiveTx = this.desiredTxFor(BfdState.Down);
    this.advertisedRx = this.detectionRx = opts.timers.receiveInterval * US_PER_MS;
    this.nextTxAt = opts.now;
  }

  get sessionState(): BfdState {
    return this.state;
  }
  get diagnostic(): number {
    return this.localDiag;
  }
  get remoteDiscriminator(): number {
    return this.remoteDiscr;
  }
  get pollOutstanding(): boolean {
    return this.pollPending;
  }
  get timers(): BfdTimers {
    return this.timersConfig;
  }

  /** §6.8.2: the interval between our packets (ms, before jitter). */
  transmitIntervalMs(): number {
    return Math.max(this.effectiveTx, this.remoteMinRx) / US_PER_MS;
  }

  /** §6.8.4: remote Detect Mult x max(our Required Min RX, their Desired Min TX), ms. */
  detectionTimeMs(): number {
    return (this.remoteDetectMult * Math.max(this.detectionRx, this.remoteDesiredMinTx)) / US_PER_MS;
  }

  /** The earliest time `tick` has something to do. */
  nextDeadline(): number {
    const tx = this.transmitting() ? this.nextTxAt : Number.POSITIVE_INFINITY;
    return Math.min(tx, this.detectAt ?? Number.POSITIVE_INFINITY);
  }

  /** Timers: detection expiry (§6.8.4) and periodic transmission (§6.8.7). */
  tick(now: number): BfdActions {
    const out: BfdActions = { send: [], stateChanges: [] };
    if (this.detectAt !== undefined && now >= this.detectAt) {
      const lateMs = now - this.detectAt;
      this.detectAt = undefined;
      if (this.state === BfdState.Init || this.state === BfdState.Up) {
        this.changeState(BfdState.Down, BfdDiagnostic.ControlDetectionTimeExpired, out, now);
        const change = out.stateChanges.pop();
        if (change) out.stateChanges.push({ ...change, lateMs });
      }
      // §6.8.1: the remote discriminator is forgotten when nothing arrives for a detection time.
      this.forgetRemote();
    }
    if (this.transmitting() && now >= this.nextTxAt) {
      out.send.push(this.buildPacket(false));
      this.scheduleTx(now);
    }
    return out;
  }

  /** A packet that passed the codec checks and was demultiplexed to this session (§6.8.6). */
  receive(p: BfdControlPacket, now: number): BfdActions {
    const out: BfdActions = { send: [], stateChanges: [] };
    if (p.yourDiscriminator !== 0 && p.yourDiscriminator !== this.localDiscriminator) return out;
    this.remoteDiscr = p.myDiscriminator;
    this.remoteState = p.state;
    this.remoteDemand = p.demand;
    const remoteMinRxChanged = p.requiredMinRxInterval !== this.remoteMinRx;
    this.remoteMinRx = p.requiredMinRxInterval;
    this.remoteDesiredMinTx = p.desiredMinTxInterval;
    this.remoteDetectMult = p.detectMultiplier;
    this.lastRxAt = now;
    if (p.final && this.pollPending) this.terminatePoll();
    // §6.8.2/6.8.7: a slower request from the remote takes effect now, not after our old interval.
    if (remoteMinRxChanged && this.transmitting()) this.nextTxAt = Math.min(this.nextTxAt, now + this.jittered(this.transmitIntervalMs()));

    if (this.state !== BfdState.AdminDown) {
      if (p.state === BfdState.AdminDown) {
        if (this.state !== BfdState.Down) this.changeState(BfdState.Down, BfdDiagnostic.NeighborSignaledSessionDown, out, now);
      } else if (this.state === BfdState.Down) {
        if (p.state === BfdState.Down) this.changeState(BfdState.Init, BfdDiagnostic.None, out, now);
        else if (p.state === BfdState.Init) this.changeState(BfdState.Up, BfdDiagnostic.None, out, now);
      } else if (this.state === BfdState.Init) {
        if (p.state === BfdState.Init || p.state === BfdState.Up) this.changeState(BfdState.Up, BfdDiagnostic.None, out, now);
      } else if (p.state === BfdState.Down) {
        this.changeState(BfdState.Down, BfdDiagnostic.NeighborSignaledSessionDown, out, now);
      }
      this.detectAt = now + this.detectionTimeMs();
    }
    // §6.8.6: answer a Poll with a Final at once, regardless of the transmit timer (even when
    // passive or when the remote's Required Min RX is zero).
    if (p.poll && this.state !== BfdState.AdminDown) out.send.push(this.buildPacket(true));
    return out;
  }

  /** New profile values (§6.8.3): a change while Up runs a Poll Sequence. */
  setTimers(timers: BfdTimers, now: number): BfdActions {
    this.timersConfig = timers;
    this.applyLocalParameters(now);
    return { send: [], stateChanges: [] };
  }

  /** Administrative down (§6.8.16): we signal AdminDown and ignore the remote. */
  adminDown(now: number): BfdActions {
    const out: BfdActions = { send: [], stateChanges: [] };
    if (this.state !== BfdState.AdminDown) {
      this.changeState(BfdState.AdminDown, BfdDiagnostic.AdministrativelyDown, out, now);
      this.detectAt = undefined;
      out.send.push(this.buildPacket(false));
      this.scheduleTx(now);
    }
    return out;
  }

  adminUp(now: number): BfdActions {
    const out: BfdActions = { send: [], stateChanges: [] };
    if (this.state === BfdState.AdminDown) {
      this.changeState(BfdState.Down, BfdDiagnostic.None, out, now);
      this.nextTxAt = now;
    }
    return out;
  }

  private transmitting(): boolean {
    // §6.8.7: passive systems wait for the remote; a zero Required Min RX means "send nothing";
    // a remote in Demand mode with both sides Up wants no periodic packets.
    if (this.remoteDiscr === 0 && this.timersConfig.passiveMode) return false;
    if (this.remoteMinRx === 0) return false;
    if (this.remoteDemand && this.state === BfdState.Up && this.remoteState === BfdState.Up && !this.pollPending) return false;
    return true;
  }

  private desiredTxFor(state: BfdState): number {
    const configured = this.timersConfig.transmitInterval * US_PER_MS;
    return state === BfdState.Up ? configured : Math.max(configured, SLOW_TX_INTERVAL_MS * US_PER_MS);
  }

  private changeState(to: BfdState, diagnostic: number, out: BfdActions, now: number): void {
    const from = this.state;
    if (from === to) return;
    this.state = to;
    if (to === BfdState.Down || to === BfdState.AdminDown) this.localDiag = diagnostic;
    else if (to === BfdState.Up) this.localDiag = BfdDiagnostic.None;
    out.stateChanges.push({ from, to, diagnostic: to === BfdState.Up || to === BfdState.Init ? BfdDiagnostic.None : diagnostic });
    if (to !== BfdState.Up) {
      // Parameter exchange starts over; a Poll in flight is moot.
      this.pollPending = false;
    }
    this.applyLocalParameters(now);
  }

  /**
   * Recomputes what we advertise. §6.8.3: an increase of Desired Min TX while Up keeps the old
   * rate until the Poll Sequence ends; a decrease of Required Min RX while Up keeps the old value
   * in the detection time until then. Any change while Up starts a Poll Sequence.
   */
  private applyLocalParameters(now: number): void {
    const tx = this.desiredTxFor(this.state);
    const rx = this.timersConfig.receiveInterval * US_PER_MS;
    const up = this.state === BfdState.Up;
    const changed = tx !== this.advertisedTx || rx !== this.advertisedRx;
    if (tx !== this.advertisedTx) {
      if (!(up && tx > this.effectiveTx)) this.effectiveTx = tx;
      this.advertisedTx = tx;
    }
    if (rx !== this.advertisedRx) {
      if (!(up && rx < this.detectionRx)) this.detectionRx = rx;
      this.advertisedRx = rx;
    }
    if (!up) {
      this.effectiveTx = this.advertisedTx;
      this.detectionRx = this.advertisedRx;
    }
    if (changed && up) this.pollPending = true;
    if (changed && this.transmitting()) {
      this.nextTxAt = Math.min(this.nextTxAt, now + this.jittered(this.transmitIntervalMs()));
    }
    if (changed && this.lastRxAt !== undefined && this.detectAt !== undefined) this.detectAt = this.lastRxAt + this.detectionTimeMs();
  }

  private terminatePoll(): void {
    this.pollPending = false;
    this.effectiveTx = this.advertisedTx;
    this.detectionRx = this.advertisedRx;
    if (this.lastRxAt !== undefined && this.detectAt !== undefined) this.detectAt = this.lastRxAt + this.detectionTimeMs();
  }

  private forgetRemote(): void {
    this.remoteDiscr = 0;
    this.remoteState = BfdState.Down;
    this.remoteDemand = false;
    this.remoteMinRx = 1;
    this.remoteDesiredMinTx = 0;
    this.remoteDetectMult = 0;
    this.lastRxAt = undefined;
  }

  /** §6.8.7 jitter: 75-100% of the interval, 75-90% when our Detect Mult is 1. */
  private jittered(intervalMs: number): number {
    const top = this.timersConfig.detectMultiplier === 1 ? 0.9 : 1;
    return intervalMs * (top - (top - 0.75) * this.random());
  }

  private scheduleTx(now: number): void {
    this.nextTxAt = now + this.jittered(this.transmitIntervalMs());
  }

  private buildPacket(final: boolean): BfdControlPacket {
    return controlPacket({
      state: this.state,
      diagnostic: this.localDiag,
      poll: !final && this.pollPending,
      final,
      detectMultiplier: this.timersConfig.detectMultiplier,
      myDiscriminator: this.localDiscriminator,
      yourDiscriminator: this.remoteDiscr,
      desiredMinTxInterval: this.advertisedTx,
      requiredMinRxInterval: this.advertisedRx,
    });
  }

  describe(): string {
    return `BFD session ${this.localDiscriminator}/${this.remoteDiscr} ${BFD_STATE_NAMES[this.state]}`;
  }
}
