import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BfdDiagnostic, BfdState, controlPacket, decodeControlPacket, encodeControlPacket, type BfdControlPacket } from '../../src/speaker/bfd/codec.js';
import { BfdSession, type BfdStateChange, type BfdTimers } from '../../src/speaker/bfd/session.js';

const FAST: BfdTimers = { receiveInterval: 100, transmitInterval: 100, detectMultiplier: 3, passiveMode: false };

interface Node {
  name: string;
  s: BfdSession;
  sent: { at: number; p: BfdControlPacket }[];
  changes: (BfdStateChange & { at: number })[];
}

/** Two sessions joined by a link with 1 ms latency and a fake clock; `cut` drops everything. */
class Pair {
  now = 0;
  cut = false;
  private inFlight: { at: number; to: Node; p: BfdControlPacket }[] = [];
  readonly a: Node;
  readonly b: Node;
  constructor(ta: BfdTimers, tb: BfdTimers, random: () => number = () => 0.5) {
    this.a = { name: 'a', s: new BfdSession({ localDiscriminator: 11, timers: ta, now: 0, random }), sent: [], changes: [] };
    this.b = { name: 'b', s: new BfdSession({ localDiscriminator: 22, timers: tb, now: 0, random }), sent: [], changes: [] };
  }
  private other(n: Node): Node {
    return n === this.a ? this.b : this.a;
  }
  handle(n: Node, out: { send: BfdControlPacket[]; stateChanges: BfdStateChange[] }): void {
    for (const c of out.stateChanges) n.changes.push({ ...c, at: this.now });
    for (const p of out.send) {
      // Everything crosses the wire through the codec.
      const decoded = decodeControlPacket(encodeControlPacket(p));
      if (!decoded.ok) throw new Error(decoded.reason);
      n.sent.push({ at: this.now, p });
      if (!this.cut) this.inFlight.push({ at: this.now + 1, to: this.other(n), p: decoded.packet });
    }
  }
  run(untilMs: number): void {
    for (;;) {
      const next = Math.min(this.a.s.nextDeadline(), this.b.s.nextDeadline(), ...this.inFlight.map((f) => f.at));
      if (next > untilMs) break;
      this.now = Math.max(this.now, next);
      const due = this.inFlight.filter((f) => f.at <= this.now);
      this.inFlight = this.inFlight.filter((f) => f.at > this.now);
      for (const f of due) this.handle(f.to, f.to.s.receive(f.p, this.now));
      for (const n of [this.a, this.b]) if (n.s.nextDeadline() <= this.now) this.handle(n, n.s.tick(this.now));
    }
    this.now = untilMs;
  }
}

const up = (p: Pair) => p.a.s.sessionState === BfdState.Up && p.b.s.sessionState === BfdState.Up;

describe('BFD session state machine', () => {
  it('Down -> Init -> Up on both sides (three-way handshake), slow start at 1 s, then the Poll Sequence moves to 100 ms', () => {
    const p = new Pair(FAST, FAST);
    p.run(5_000);
    expect(up(p)).toBe(true);
    const path = JSON.stringify(p.a.changes.map((c) => [c.from, c.to]));
    expect([JSON.stringify([[BfdState.Down, BfdState.Init], [BfdState.Init, BfdState.Up]]), JSON.stringify([[BfdState.Down, BfdState.Up]])]).toContain(path);
    // While not Up every packet advertised Desired Min TX >= 1 s (§6.8.3) and gaps were >= 750 ms.
    const firstUp = p.a.changes.find((c) => c.to === BfdState.Up)!.at;
    const before = p.a.sent.filter((x) => x.at < firstUp);
    expect(before.length).toBeGreaterThan(0);
    for (const x of before) if (x.p.state !== BfdState.Up) expect(x.p.desiredMinTxInterval).toBe(1_000_000);
    // After Up: a Poll went out and was answered by a Final; rates settled at 100 ms.
    expect(p.a.sent.some((x) => x.p.poll)).toBe(true);
    expect(p.b.sent.some((x) => x.p.final)).toBe(true);
    expect(p.a.s.pollOutstanding).toBe(false);
    expect(p.a.s.transmitIntervalMs()).toBe(100);
    expect(p.a.s.detectionTimeMs()).toBe(300);
    const late = p.a.sent.filter((x) => x.at > 4_000);
    for (let i = 1; i < late.length; i++) expect(late[i]!.at - late[i - 1]!.at).toBeCloseTo(100 * (1 - 0.25 * 0.5), 5);
    expect(late.every((x) => x.p.desiredMinTxInterval === 100_000 && !x.p.poll)).toBe(true);
  });

  it('link loss: Down with Control Detection Time Expired exactly one detection time after the last packet', () => {
    const p = new Pair(FAST, FAST);
    p.run(5_000);
    expect(up(p)).toBe(true);
    const lastFromB = () => Math.max(...p.b.sent.map((x) => x.at)) + 1;
    p.cut = true;
    const cutAt = p.now;
    const lastRx = lastFromB();
    p.run(cutAt + 1_000);
    const down = p.a.changes.find((c) => c.at > cutAt)!;
    expect(down).toMatchObject({ from: BfdState.Up, to: BfdState.Down, diagnostic: BfdDiagnostic.ControlDetectionTimeExpired, lateMs: 0 });
    expect(down.at - lastRx).toBe(300);
    expect(p.a.s.diagnostic).toBe(BfdDiagnostic.ControlDetectionTimeExpired);
    // §6.8.1: the remote discriminator is forgotten and we fall back to the 1 s rate.
    expect(p.a.s.remoteDiscriminator).toBe(0);
    expect(p.a.s.transmitIntervalMs()).toBe(1_000);
    // Down packets now carry the diagnostic and Your Discriminator 0.
    const afterDown = p.a.sent.filter((x) => x.at > down.at);
    expect(afterDown.length).toBeGreaterThan(0);
    expect(afterDown.every((x) => x.p.state === BfdState.Down && x.p.diagnostic === 1 && x.p.yourDiscriminator === 0)).toBe(true);
  });

  it('detection time uses the remote Detect Mult and the slower of our RX and their TX (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 10, max: 2_000 }), fc.integer({ min: 10, max: 2_000 }), fc.integer({ min: 10, max: 2_000 }), fc.integer({ min: 10, max: 2_000 }),
        fc.integer({ min: 2, max: 10 }), fc.integer({ min: 2, max: 10 }),
        (aTx, aRx, bTx, bRx, aMult, bMult) => {
          const p = new Pair({ transmitInterval: aTx, receiveInterval: aRx, detectMultiplier: aMult, passiveMode: false }, { transmitInterval: bTx, receiveInterval: bRx, detectMultiplier: bMult, passiveMode: false });
          p.run(20_000);
          expect(up(p)).toBe(true);
          expect(p.a.s.detectionTimeMs()).toBe(bMult * Math.max(aRx, bTx));
          expect(p.a.s.transmitIntervalMs()).toBe(Math.max(aTx, bRx));
          expect(p.b.s.detectionTimeMs()).toBe(aMult * Math.max(bRx, aTx));
        },
      ),
      { numRuns: 40 },
    );
  });

  it('jitter keeps intervals within 75-100%, and within 75-90% when Detect Mult is 1 (property)', () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), fc.boolean(), (r, single) => {
        const timers = { ...FAST, detectMultiplier: single ? 1 : 3 };
        const p = new Pair(timers, FAST, () => r);
        p.run(6_000);
        const late = p.a.sent.filter((x) => x.at > 5_000 && !x.p.final);
        for (let i = 1; i < late.length; i++) {
          const gap = late[i]!.at - late[i - 1]!.at;
          expect(gap).toBeGreaterThanOrEqual(75 - 1e-9);
          expect(gap).toBeLessThanOrEqual((single ? 90 : 100) + 1e-9);
        }
      }),
      { numRuns: 30 },
    );
  });

  it('Neighbor Signaled Session Down when the peer says Down or AdminDown', () => {
    for (const remoteState of [BfdState.Down, BfdState.AdminDown]) {
      const p = new Pair(FAST, FAST);
      p.run(5_000);
      const out = p.a.s.receive(controlPacket({ state: remoteState, detectMultiplier: 3, myDiscriminator: 22, yourDiscriminator: 11, desiredMinTxInterval: 1_000_000, requiredMinRxInterval: 100_000 }), p.now);
      expect(out.stateChanges).toEqual([{ from: BfdState.Up, to: BfdState.Down, diagnostic: BfdDiagnostic.NeighborSignaledSessionDown }]);
    }
  });

  it('Init with a peer in Down stays Init; Down ignores a peer in Up', () => {
    const s = new BfdSession({ localDiscriminator: 5, timers: FAST, now: 0, random: () => 0 });
    const from = (state: BfdState) => controlPacket({ state, detectMultiplier: 3, myDiscriminator: 9, yourDiscriminator: state === BfdState.Down ? 0 : 5, desiredMinTxInterval: 1_000_000, requiredMinRxInterval: 100_000 });
    expect(s.receive(from(BfdState.Up), 0).stateChanges).toEqual([]);
    expect(s.sessionState).toBe(BfdState.Down);
    expect(s.receive(from(BfdState.Down), 1).stateChanges).toEqual([{ from: BfdState.Down, to: BfdState.Init, diagnostic: 0 }]);
    expect(s.receive(from(BfdState.Down), 2).stateChanges).toEqual([]);
    expect(s.receive(from(BfdState.Up), 3).stateChanges).toEqual([{ from: BfdState.Init, to: BfdState.Up, diagnostic: 0 }]);
    // A packet for another discriminator is ignored.
    expect(s.receive({ ...from(BfdState.Down), yourDiscriminator: 6 }, 4).stateChanges).toEqual([]);
    expect(s.sessionState).toBe(BfdState.Up);
  });

  it('Init times out after a detection time with Control Detection Time Expired', () => {
    const s = new BfdSession({ localDiscriminator: 5, timers: FAST, now: 0, random: () => 0 });
    s.receive(controlPacket({ state: BfdState.Down, detectMultiplier: 3, myDiscriminator: 9, yourDiscriminator: 0, desiredMinTxInterval: 1_000_000, requiredMinRxInterval: 100_000 }), 0);
    expect(s.sessionState).toBe(BfdState.Init);
    expect(s.detectionTimeMs()).toBe(3_000);
    expect(s.tick(2_999).stateChanges).toEqual([]);
    expect(s.tick(3_005).stateChanges).toEqual([{ from: BfdState.Init, to: BfdState.Down, diagnostic: BfdDiagnostic.ControlDetectionTimeExpired, lateMs: 5 }]);
  });

  it('answers a Poll with a Final at once and never sets both', () => {
    const s = new BfdSession({ localDiscriminator: 5, timers: FAST, now: 0, random: () => 0 });
    s.tick(0);
    const out = s.receive(controlPacket({ state: BfdState.Down, poll: true, detectMultiplier: 3, myDiscriminator: 9, yourDiscriminator: 0, desiredMinTxInterval: 1_000_000, requiredMinRxInterval: 100_000 }), 10);
    expect(out.send).toHaveLength(1);
    expect(out.send[0]).toMatchObject({ final: true, poll: false, yourDiscriminator: 9, state: BfdState.Init });
  });

  it('profile change while Up: Poll Sequence; a slower TX takes effect only after the Final, a faster one at once', () => {
    const p = new Pair(FAST, FAST);
    p.run(5_000);
    const slower = { ...FAST, transmitInterval: 300 };
    p.a.s.setTimers(slower, p.now);
    expect(p.a.s.pollOutstanding).toBe(true);
    expect(p.a.s.transmitIntervalMs()).toBe(100); // old rate until the Final
    const changedAt = p.now;
    p.run(p.now + 100);
    expect(p.a.sent.find((x) => x.at > changedAt)!.p).toMatchObject({ poll: true, desiredMinTxInterval: 300_000 });
    p.run(p.now + 500);
    expect(p.a.s.pollOutstanding).toBe(false);
    expect(p.a.s.transmitIntervalMs()).toBe(300);
    expect(p.b.s.detectionTimeMs()).toBe(900);
    p.a.s.setTimers(FAST, p.now);
    expect(p.a.s.transmitIntervalMs()).toBe(100);
    // A lower Required Min RX keeps the old (larger) value in the detection time until the Final.
    p.run(p.now + 1_000);
    p.a.s.setTimers({ ...FAST, receiveInterval: 500 }, p.now);
    p.run(p.now + 1_000);
    expect(p.a.s.detectionTimeMs()).toBe(1_500);
    p.a.s.setTimers(FAST, p.now);
    expect(p.a.s.detectionTimeMs()).toBe(1_500);
    p.run(p.now + 1_000);
    expect(p.a.s.detectionTimeMs()).toBe(300);
    expect(up(p)).toBe(true);
    expect(p.a.changes.filter((c) => c.to === BfdState.Down)).toEqual([]);
  });

  it('passive mode sends nothing until the peer speaks, then comes Up', () => {
    const passive = { ...FAST, passiveMode: true };
    const lonely = new BfdSession({ localDiscriminator: 5, timers: passive, now: 0, random: () => 0 });
    expect(lonely.nextDeadline()).toBe(Number.POSITIVE_INFINITY);
    expect(lonely.tick(10_000).send).toEqual([]);
    const p = new Pair(passive, FAST);
    p.run(5_000);
    expect(up(p)).toBe(true);
    expect(p.a.sent[0]!.at).toBeGreaterThan(0);
    expect(p.b.sent[0]!.at).toBe(0);
  });

  it('two passive sides never come up', () => {
    const passive = { ...FAST, passiveMode: true };
    const p = new Pair(passive, passive);
    p.run(10_000);
    expect(p.a.sent).toEqual([]);
    expect(p.b.sent).toEqual([]);
  });

  it('AdminDown: tells the peer (diag 7), ignores its packets, and the peer goes Down with Neighbor Signaled Session Down', () => {
    const p = new Pair(FAST, FAST);
    p.run(5_000);
    p.handle(p.a, p.a.s.adminDown(p.now));
    expect(p.a.sent.at(-1)!.p).toMatchObject({ state: BfdState.AdminDown, diagnostic: BfdDiagnostic.AdministrativelyDown });
    p.run(p.now + 2_000);
    expect(p.a.s.sessionState).toBe(BfdState.AdminDown);
    expect(p.b.changes.at(-1)).toMatchObject({ from: BfdState.Up, to: BfdState.Down, diagnostic: BfdDiagnostic.NeighborSignaledSessionDown });
    p.handle(p.a, p.a.s.adminUp(p.now));
    p.run(p.now + 5_000);
    expect(up(p)).toBe(true);
  });

  it('a peer with Required Min RX 0 gets no periodic packets; a peer in Demand mode neither once both are Up', () => {
    const s = new BfdSession({ localDiscriminator: 5, timers: FAST, now: 0, random: () => 0 });
    s.receive(controlPacket({ state: BfdState.Down, detectMultiplier: 3, myDiscriminator: 9, yourDiscriminator: 0, desiredMinTxInterval: 1_000_000, requiredMinRxInterval: 0 }), 0);
    expect(s.tick(2_000).send).toEqual([]);
    const d = new BfdSession({ localDiscriminator: 5, timers: FAST, now: 0, random: () => 0 });
    const pkt = (state: BfdState, demand: boolean) => controlPacket({ state, demand, detectMultiplier: 3, myDiscriminator: 9, yourDiscriminator: 5, desiredMinTxInterval: 100_000, requiredMinRxInterval: 100_000 });
    d.receive(pkt(BfdState.Init, false), 0);
    expect(d.sessionState).toBe(BfdState.Up);
    d.receive(pkt(BfdState.Up, true), 1);
    d.receive(controlPacket({ ...pkt(BfdState.Up, true), final: true }), 2); // ends our Poll
    expect(d.tick(50).send).toEqual([]);
    expect(d.nextDeadline()).toBe(2 + 300);
  });

  it('rejects a zero or oversized local discriminator', () => {
    expect(() => new BfdSession({ localDiscriminator: 0, timers: FAST, now: 0, random: Math.random })).toThrow(/non-zero 32-bit/);
    expect(() => new BfdSession({ localDiscriminator: 2 ** 32, timers: FAST, now: 0, random: Math.random })).toThrow(/non-zero 32-bit/);
  });
});
