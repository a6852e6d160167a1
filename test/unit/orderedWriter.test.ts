import { describe, expect, test } from 'vitest';
import { OrderedWriter } from '../../src/k8s/orderedWriter.js';

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('OrderedWriter', () => {
  test('writes of different keys overlap up to the concurrency limit', async () => {
    const w = new OrderedWriter(3);
    let active = 0, peak = 0;
    for (let i = 0; i < 10; i++) {
      void w.submit(`k${i}`, async () => { active++; peak = Math.max(peak, active); await tick(5); active--; }, false);
    }
    await w.drained();
    expect(peak).toBe(3);
  });

  test('writes of one key run in order, one at a time', async () => {
    const w = new OrderedWriter(8);
    const log: number[] = [];
    for (let i = 0; i < 5; i++) void w.submit('same', async () => { log.push(i); await tick(5 - i); log.push(i); }, false);
    await w.drained();
    expect(log).toEqual([0, 0, 1, 1, 2, 2, 3, 3, 4, 4]);
  });

  test('a releasing write waits for earlier writes, and later writes wait for it', async () => {
    const w = new OrderedWriter(8);
    const log: string[] = [];
    void w.submit('a', async () => { await tick(20); log.push('a'); }, false);
    void w.submit('release', async () => { await tick(1); log.push('release'); }, true);
    void w.submit('b', async () => { log.push('b'); }, false);
    await w.drained();
    expect(log).toEqual(['a', 'release', 'b']);
  });

  test('a failed write does not block the ones after it', async () => {
    const w = new OrderedWriter(2);
    const log: string[] = [];
    await expect(w.submit('x', async () => { throw new Error('boom'); }, true)).rejects.toThrow('boom');
    await w.submit('x', async () => { log.push('after'); }, false);
    expect(log).toEqual(['after']);
    await w.drained();
    expect(w.pending).toBe(0);
  });
});
