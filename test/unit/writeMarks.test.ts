// The controller skips a Service write only when its cache is provably behind a write it made.
import { describe, expect, it } from 'vitest';
import { WriteMarks, parseResourceVersion } from '../../src/controller/writeMarks.js';

const T = JSON.stringify([['192.0.2.10'], 'default']);

describe('parseResourceVersion', () => {
  it('takes KEP-5504 integers only', () => {
    expect(parseResourceVersion('12345678901234567890')).toBe(12345678901234567890n);
    for (const bad of [undefined, '', '0', '012', '12a', '-3', ' 5']) expect(parseResourceVersion(bad)).toBeUndefined();
  });
});

describe('WriteMarks', () => {
  it('skips the stale event of our own annotation patch while the status patch is in flight', () => {
    const m = new WriteMarks();
    expect(m.redundant('ns/a', 'u1', T, '100')).toBe(false);
    m.begin('ns/a', 'u1', T);
    expect(m.redundant('ns/a', 'u1', T, '101')).toBe(true);
  });

  it('after the write, skips only cached objects older than what the write returned', () => {
    const m = new WriteMarks();
    m.begin('ns/a', 'u1', T);
    m.end('ns/a', T, true, ['105', '106']);
    expect(m.redundant('ns/a', 'u1', T, '105')).toBe(true); // the annotation patch's event: no status yet
    expect(m.redundant('ns/a', 'u1', T, '106')).toBe(false); // our status is in this one: a write is really needed
    expect(m.redundant('ns/a', 'u1', T, '200')).toBe(false); // somebody changed it after us
  });

  it('never skips a different target, another object with the same name, or unparsable versions', () => {
    const m = new WriteMarks();
    m.begin('ns/a', 'u1', T);
    m.end('ns/a', T, true, ['105']);
    expect(m.redundant('ns/a', 'u1', JSON.stringify([['192.0.2.11'], 'default']), '100')).toBe(false);
    expect(m.redundant('ns/a', 'u2', T, '100')).toBe(false);
    expect(m.redundant('ns/a', 'u1', T, 'abc')).toBe(false);
    const n = new WriteMarks();
    n.begin('ns/b', 'u1', T);
    n.end('ns/b', T, true, [undefined]);
    expect(n.redundant('ns/b', 'u1', T, '1')).toBe(false);
  });

  it('forgets a failed write, so the next pass writes again', () => {
    const m = new WriteMarks();
    m.begin('ns/a', 'u1', T);
    m.end('ns/a', T, false, ['105']);
    expect(m.redundant('ns/a', 'u1', T, '100')).toBe(false);
    expect(m.size).toBe(0);
  });

  it('a newer target replaces the old one; the old write ending changes nothing', () => {
    const m = new WriteMarks();
    const T2 = JSON.stringify([['192.0.2.11'], 'default']);
    m.begin('ns/a', 'u1', T);
    m.begin('ns/a', 'u1', T2);
    m.end('ns/a', T, true, ['300']);
    expect(m.redundant('ns/a', 'u1', T, '100')).toBe(false);
    expect(m.redundant('ns/a', 'u1', T2, '100')).toBe(true); // T2 still in flight
  });

  it('forget keeps a mark whose write is still in flight and drops a settled one', () => {
    const m = new WriteMarks();
    m.begin('ns/a', 'u1', T);
    m.forget('ns/a');
    expect(m.size).toBe(1);
    m.end('ns/a', T, true, ['7']);
    m.forget('ns/a');
    expect(m.size).toBe(0);
  });
});
