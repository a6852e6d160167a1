// The chaos suite's invariant check (test/e2e/chaosCapture.ts): two MACs may not both answer for
// one IP for more than 200 ms; a clean hand-over (even with a last burst 50 ms late) is fine.
import { describe, expect, it } from 'vitest';
import { dualAnswers, recovery, type Answer } from '../e2e/chaosCapture.js';

const A = '02:00:00:00:00:0a';
const B = '02:00:00:00:00:0b';
const at = (mac: string, ...times: number[]): Answer[] => times.map((t) => ({ ip: '192.0.2.200', kind: 'garp', mac, port: 'n1', t }));

describe('dualAnswers', () => {
  it('a failover (old owner silent, new one starts) is not a dual answer', () => {
    expect(dualAnswers([...at(A, 0, 1100, 2200), ...at(B, 2900, 4000, 5100)], 200)).toEqual([]);
  });

  it('a hand-back whose last old burst leaves 57 ms after the new owner\'s first is fine', () => {
    expect(dualAnswers([...at(A, 0, 1100, 2200), ...at(B, 2143, 3243, 4343)], 200)).toEqual([]);
  });

  it('two owners answering side by side for seconds (split brain) is found, with the overlap', () => {
    const found = dualAnswers([...at(A, 0, 1100, 2200, 3300), ...at(B, 500, 1600, 2700)], 200);
    expect(found).toHaveLength(1);
    expect(found[0]!.overlapMs).toBe(2200);
    expect(found[0]!.second.mac).toBe(B);
  });

  it('other IPs do not mix', () => {
    const other = at(B, 500, 1600).map((a) => ({ ...a, ip: '192.0.2.201' }));
    expect(dualAnswers([...at(A, 0, 1100, 2200), ...other], 200)).toEqual([]);
  });
});

describe('recovery', () => {
  const req = (t0: number, ok: boolean) => ({ ip: '192.0.2.200', t0, t1: t0 + 5, ok, node: ok ? 'n1' : null });
  it('a failover outage counts from the fault to the first success', () => {
    const r = recovery([req(10, false), req(100, false), req(700, true), req(780, true)], '192.0.2.200', 0, 1000);
    expect(r).toEqual({ requests: 4, failures: 2, recoveryMs: 700 });
  });
  it('a lone timeout between successes is a short outage, not an unrecovered fault', () => {
    const r = recovery([req(0, true), req(75, false), req(150, true), req(58_000, true)], '192.0.2.200', 0, 60_000);
    expect(r.recoveryMs).toBe(150);
  });
  it('failing to the end of the window is never recovered', () => {
    expect(recovery([req(0, true), req(75, false)], '192.0.2.200', 0, 1000).recoveryMs).toBeNull();
  });
});
