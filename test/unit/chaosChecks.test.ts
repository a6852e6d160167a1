// The chaos suite's invariant check (test/e2e/chaosCapture.ts): two MACs may not both answer for
// one IP for more than 200 ms; a clean hand-over (even with a last burst 50 ms late) is fine.
import { describe, expect, it } from 'vitest';
import { dualAnswers, type Answer } from '../e2e/chaosCapture.js';

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
