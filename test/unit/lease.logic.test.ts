import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_LEASE_TIMING as T, INITIAL_CANDIDATE_STATE, afterWrite, checkLeaseTiming, leaseStep, microTime, releasedRecord, renewDeadlinePassed,
  type CandidateState, type LeaseRecord,
} from '../../src/k8s/leaseLogic.js';

/** A fake API server holding one Lease with a resourceVersion, and candidates on a fake clock. */
class FakeLease {
  record: LeaseRecord | undefined;
  rv = 0;
  read() {
    return { record: this.record, rv: this.rv };
  }
  /** Optimistic concurrency: the write only lands when nothing changed since the read. */
  write(record: LeaseRecord, readRv: number): boolean {
    if (readRv !== this.rv) return false;
    this.record = record;
    this.rv++;
    return true;
  }
}

class Candidate {
  state: CandidateState = INITIAL_CANDIDATE_STATE;
  lastRenew = -Infinity;
  constructor(readonly id: string, readonly lease: FakeLease) {}
  /** One round at `now`; true when this candidate holds the lease afterwards. */
  round(now: number): boolean {
    const { record, rv } = this.lease.read();
    const { step, state } = leaseStep(record, this.id, this.state, now, T);
    this.state = state;
    if (step.action === 'wait') return false;
    if (!this.lease.write(step.record, rv)) return false;
    this.state = afterWrite(step.record, now);
    this.lastRenew = now;
    return true;
  }
  /** What the candidate itself believes (it cannot see the Lease between rounds): it acts as leader until its renew deadline passes. */
  leading(now: number): boolean {
    return !renewDeadlinePassed(this.lastRenew, now, T);
  }
}

describe('lease logic', () => {
  it('creates a missing lease holding it, with MicroTime stamps', () => {
    const { step } = leaseStep(undefined, 'a', INITIAL_CANDIDATE_STATE, Date.parse('2026-01-01T00:00:00.123Z'), T);
    expect(step).toEqual({ action: 'create', record: {
      holderIdentity: 'a', leaseDurationSeconds: 15, acquireTime: '2026-01-01T00:00:00.123000Z', renewTime: '2026-01-01T00:00:00.123000Z', leaseTransitions: 0,
    } });
    expect(microTime(0)).toBe('1970-01-01T00:00:00.000000Z');
  });

  it('a renewal keeps acquireTime and the transition count', () => {
    const held: LeaseRecord = { holderIdentity: 'a', leaseDurationSeconds: 15, acquireTime: microTime(1000), renewTime: microTime(1000), leaseTransitions: 3 };
    const { step } = leaseStep(held, 'a', afterWrite(held, 1000), 3000, T);
    expect(step).toEqual({ action: 'update', record: { ...held, renewTime: microTime(3000) } });
  });

  it('a standby waits the full duration from when IT saw the last change, whatever renewTime says', () => {
    // renewTime far in the past (another machine's clock): irrelevant, the local observation counts.
    const held: LeaseRecord = { holderIdentity: 'a', leaseDurationSeconds: 15, acquireTime: microTime(0), renewTime: microTime(0), leaseTransitions: 0 };
    let s = INITIAL_CANDIDATE_STATE;
    const t0 = 1_000_000;
    for (const t of [t0, t0 + 5000, t0 + 14_999]) {
      const r = leaseStep(held, 'b', s, t, T);
      expect(r.step).toEqual({ action: 'wait', holder: 'a' });
      s = r.state;
    }
    const took = leaseStep(held, 'b', s, t0 + 15_000, T);
    expect(took.step).toMatchObject({ action: 'update', record: { holderIdentity: 'b', leaseTransitions: 1, acquireTime: microTime(t0 + 15_000) } });
    // A renewal seen meanwhile restarts the wait.
    const renewed = { ...held, renewTime: microTime(5) };
    const r = leaseStep(renewed, 'b', s, t0 + 15_000, T);
    expect(r.step.action).toBe('wait');
    expect(r.state.observedAtMs).toBe(t0 + 15_000);
  });

  it('uses the duration written by the holder', () => {
    const held: LeaseRecord = { holderIdentity: 'a', leaseDurationSeconds: 60, renewTime: microTime(0) };
    const s = leaseStep(held, 'b', INITIAL_CANDIDATE_STATE, 0, T).state;
    expect(leaseStep(held, 'b', s, 59_999, T).step.action).toBe('wait');
    expect(leaseStep(held, 'b', s, 60_000, T).step.action).toBe('update');
  });

  it('a released lease (no holder) is taken at the next round', () => {
    const held: LeaseRecord = { holderIdentity: 'a', leaseDurationSeconds: 15, acquireTime: microTime(0), renewTime: microTime(0), leaseTransitions: 2 };
    const released = releasedRecord(held, 'a', 10_000);
    expect(released).toMatchObject({ holderIdentity: '', leaseDurationSeconds: 1, leaseTransitions: 2 });
    expect(releasedRecord(held, 'b', 10_000)).toBeUndefined(); // only the holder releases
    expect(leaseStep(released, 'b', INITIAL_CANDIDATE_STATE, 10_001, T).step).toMatchObject({ action: 'update', record: { holderIdentity: 'b', leaseTransitions: 3 } });
  });

  it('validates timings like client-go', () => {
    expect(checkLeaseTiming(T)).toBeUndefined();
    expect(checkLeaseTiming({ leaseDurationMs: 10_000, renewDeadlineMs: 10_000, retryPeriodMs: 2000 })).toMatch(/lease duration/);
    expect(checkLeaseTiming({ leaseDurationMs: 15_000, renewDeadlineMs: 2000, retryPeriodMs: 2000 })).toMatch(/renew deadline/);
  });

  it('failover: when the leader dies a standby takes over within lease duration + retry period', () => {
    const lease = new FakeLease();
    const a = new Candidate('a', lease);
    const b = new Candidate('b', lease);
    let t = 0;
    expect(a.round(t)).toBe(true);
    expect(b.round(t + 1)).toBe(false);
    for (t = 2000; t <= 20_000; t += 2000) {
      expect(a.round(t)).toBe(true);
      expect(b.round(t + 1)).toBe(false);
    }
    const diedAt = 20_000; // a stops renewing
    let takeover = -1;
    for (t = diedAt + 2000; takeover < 0 && t < diedAt + 60_000; t += 2000) if (b.round(t + 1)) takeover = t + 1;
    expect(takeover - diedAt).toBeGreaterThanOrEqual(T.leaseDurationMs);
    expect(takeover - diedAt).toBeLessThanOrEqual(T.leaseDurationMs + T.retryPeriodMs + 1);
    expect(lease.record?.leaseTransitions).toBe(1);
  });

  it('property: never two leaders at once, however rounds interleave, stall and race', () => {
    // Each candidate acts only while it believes it leads (holder and renewed within the deadline);
    // with the duration longer than the deadline, two such beliefs never overlap in time.
    fc.assert(fc.property(
      fc.array(fc.record({ who: fc.integer({ min: 0, max: 2 }), gap: fc.integer({ min: 0, max: 4000 }), stale: fc.boolean() }), { minLength: 1, maxLength: 200 }),
      (ops) => {
        const lease = new FakeLease();
        const cs = ['a', 'b', 'c'].map((id) => new Candidate(id, lease));
        let t = 0;
        for (const op of ops) {
          t += op.gap;
          const c = cs[op.who]!;
          if (op.stale) {
            // A race: someone else's write lands between this candidate's read and write.
            const { record, rv } = lease.read();
            const { step, state } = leaseStep(record, c.id, c.state, t, T);
            c.state = state;
            cs[(op.who + 1) % 3]!.round(t);
            const changed = lease.rv !== rv;
            if (step.action !== 'wait' && lease.write(step.record, rv)) {
              if (changed) throw new Error('a stale write landed');
              c.state = afterWrite(step.record, t);
              c.lastRenew = t;
            }
          } else c.round(t);
          const leaders = cs.filter((x) => x.leading(t));
          if (leaders.length > 1) return false;
        }
        return true;
      },
    ));
  });
});
