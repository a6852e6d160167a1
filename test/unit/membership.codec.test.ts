// Wire format and anti-replay: round trips, and every kind of bad datagram is dropped with a
// reason instead of throwing.
import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DatagramWriter, MessageType, decodeDatagram, deriveMacKey, recordSize, type MemberRecord } from '../../src/speaker/membership/codec.js';
import { ReplayGuard } from '../../src/speaker/membership/replayGuard.js';

const KEY = deriveMacKey(Buffer.from('0123456789abcdef-test-key'));
const OTHER = deriveMacKey(Buffer.from('fedcba9876543210-test-key'));
const ENV = { sentAt: 1_760_000_123_456, bootAt: 1_760_000_000_001, seq: 4_000_000_000, incarnation: 7, sender: 'node-a' };

const rec = (name: string, over: Partial<MemberRecord> = {}): MemberRecord => ({ state: 'alive', name, incarnation: 1, address: '192.0.2.11', port: 7946, from: '', ...over });

function ping(records: MemberRecord[] = [], key = KEY): Buffer {
  const w = new DatagramWriter(1400).header(MessageType.Ping, ENV).body({ type: MessageType.Ping, probe: 99, target: 'node-b' });
  for (const r of records) expect(w.record(r)).toBe(true);
  return w.finish(key);
}

/** Signs arbitrary bytes as the sender would, to reach the parser behind the MAC. */
function signed(payload: Buffer): Buffer {
  return Buffer.concat([payload, createHmac('sha256', KEY).update(payload).digest()]);
}

describe('membership codec', () => {
  it('round-trips every message type with its records', () => {
    const records = [rec('node-b'), rec('node-c', { state: 'suspect', incarnation: 3, from: 'node-a' }), rec('node-d', { state: 'dead', address: '2001:db8::d', port: 1 }), rec('node-é', { state: 'left' })];
    const bodies = [
      { type: MessageType.Ping, probe: 1, target: 'node-b' },
      { type: MessageType.Ack, probe: 0xffffffff },
      { type: MessageType.PingReq, probe: 5, target: 'node-c', address: '2001:db8::c', port: 65535 },
      { type: MessageType.SyncRequest },
      { type: MessageType.Sync },
      { type: MessageType.Gossip },
    ] as const;
    for (const body of bodies) {
      const w = new DatagramWriter(1400).header(body.type, ENV).body(body);
      for (const r of records) w.record(r);
      const d = decodeDatagram(w.finish(KEY), KEY);
      expect(d).toEqual({ ok: true, message: { envelope: ENV, body, records } });
    }
  });

  it('drops a name that is not valid UTF-8 (it would decode longer than it came and could not be re-sent)', () => {
    // Regression (bench/fuzz gossip.core): a 250-byte name of 0xff decoded to 750 bytes of U+FFFD, and the
    // full-state sync then threw "does not fit the datagram" inside MembershipCore.
    const good = ping([rec('z'.repeat(250))]);
    const at = good.indexOf(Buffer.from('z'.repeat(250)));
    const payload = Buffer.from(good.subarray(0, good.length - 32));
    payload.fill(0xff, at, at + 250);
    expect(decodeDatagram(signed(payload), KEY)).toEqual({ ok: false, reason: 'malformed' });
    expect(decodeDatagram(ping([rec('node-é')]), KEY).ok).toBe(true);
  });

  it('drops a wrong key, any flipped bit and any truncation, never throwing', () => {
    const good = ping([rec('node-b'), rec('node-c')]);
    expect(decodeDatagram(good, KEY).ok).toBe(true);
    expect(decodeDatagram(good, OTHER)).toEqual({ ok: false, reason: 'badMac' });
    expect(decodeDatagram(ping([], OTHER), KEY)).toEqual({ ok: false, reason: 'badMac' });
    for (let i = 0; i < good.length; i++) {
      const bad = Buffer.from(good);
      bad[i] = (bad[i] as number) ^ 0x01;
      const d = decodeDatagram(bad, KEY);
      expect(d.ok, `flipped byte ${i}`).toBe(false);
    }
    for (let n = 0; n < good.length; n++) {
      const d = decodeDatagram(good.subarray(0, n), KEY);
      expect(d.ok, `truncated to ${n}`).toBe(false);
      if (!d.ok) expect(['short', 'badMac', 'badMagic', 'badVersion']).toContain(d.reason);
    }
    const wrongVersion = Buffer.from(good);
    wrongVersion[2] = 2;
    expect(decodeDatagram(wrongVersion, KEY)).toEqual({ ok: false, reason: 'badVersion' });
    expect(decodeDatagram(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n' + 'x'.repeat(40)), KEY)).toEqual({ ok: false, reason: 'badMagic' });
  });

  it('reports correctly signed but malformed contents as malformed', () => {
    const body = Buffer.from(ping([rec('node-b')]).subarray(0, -32));
    // Trailing byte after the records.
    expect(decodeDatagram(signed(Buffer.concat([body, Buffer.from([0])])), KEY)).toEqual({ ok: false, reason: 'malformed' });
    // Record count larger than the records present.
    const more = Buffer.from(body);
    const countAt = body.length - recordSize(rec('node-b')) - 1;
    more[countAt] = 2;
    expect(decodeDatagram(signed(more), KEY)).toEqual({ ok: false, reason: 'malformed' });
    // Unknown message type.
    const type = Buffer.from(body);
    type[3] = 42;
    expect(decodeDatagram(signed(type), KEY)).toEqual({ ok: false, reason: 'malformed' });
    // Unknown member state.
    const state = Buffer.from(body);
    state[countAt + 1] = 9;
    expect(decodeDatagram(signed(state), KEY)).toEqual({ ok: false, reason: 'malformed' });
    // An address that is not an IP.
    const w = new DatagramWriter(1400).header(MessageType.Gossip, ENV).body({ type: MessageType.Gossip });
    w.record(rec('node-b', { address: 'not-an-ip' }));
    expect(decodeDatagram(w.finish(KEY), KEY)).toEqual({ ok: false, reason: 'malformed' });
  });

  it('never throws on arbitrary bytes, signed or not', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.boolean(), (bytes, sign) => {
        const b = Buffer.from(bytes);
        if (b.length > 3) {
          b[0] = 0x49;
          b[1] = 0x4d;
          b[2] = 1;
        }
        const d = decodeDatagram(sign ? signed(b) : b, KEY);
        expect(typeof d.ok).toBe('boolean');
      }),
      { numRuns: 2000 },
    );
  });

  it('fills a datagram up to its size limit and reports what did not fit', () => {
    const w = new DatagramWriter(600).header(MessageType.Gossip, ENV).body({ type: MessageType.Gossip });
    let fitted = 0;
    for (let i = 0; i < 50; i++) if (w.record(rec(`node-${i}-with-a-longer-name`))) fitted++;
    const bytes = w.finish(KEY);
    expect(bytes.length).toBeLessThanOrEqual(600);
    expect(fitted).toBeGreaterThan(5);
    expect(fitted).toBeLessThan(50);
    const d = decodeDatagram(bytes, KEY);
    expect(d.ok && d.message.records.length).toBe(fitted);
  });

  it('rejects a key shorter than 16 bytes', () => {
    expect(() => deriveMacKey(Buffer.from('short'))).toThrow(/at least 16 bytes/);
  });
});

describe('ReplayGuard', () => {
  const now = 1_760_000_000_000;

  it('accepts each counter once, within a 64-datagram window, in any order', () => {
    const g = new ReplayGuard(15_000);
    expect(g.check('a', now, 1, 10, now)).toBe('ok');
    expect(g.check('a', now, 1, 10, now)).toBe('replay');
    expect(g.check('a', now, 1, 12, now)).toBe('ok');
    expect(g.check('a', now, 1, 11, now)).toBe('ok'); // late but new
    expect(g.check('a', now, 1, 11, now)).toBe('replay');
    expect(g.check('a', now, 1, 100, now)).toBe('ok');
    expect(g.check('a', now, 1, 37, now)).toBe('ok'); // 63 behind: still inside the window
    expect(g.check('a', now, 1, 36, now)).toBe('replay'); // 64 behind: outside
    expect(g.check('b', now, 1, 10, now)).toBe('ok'); // senders are independent
  });

  it('treats a newer process start as a new epoch and refuses the older one', () => {
    const g = new ReplayGuard(15_000);
    expect(g.check('a', now, 100, 50, now)).toBe('ok');
    expect(g.check('a', now, 200, 1, now)).toBe('ok'); // restarted: counters begin again
    expect(g.check('a', now, 100, 51, now)).toBe('replay'); // a datagram of the previous run
  });

  it('refuses datagrams stamped outside the clock window, even from unknown senders', () => {
    const g = new ReplayGuard(15_000);
    expect(g.check('a', now - 15_001, 1, 1, now)).toBe('stale');
    expect(g.check('a', now + 15_001, 1, 1, now)).toBe('stale');
    expect(g.check('a', now - 14_000, 1, 1, now)).toBe('ok');
  });

  it('forgets quiet senders after twice the window', () => {
    const g = new ReplayGuard(1_000);
    g.check('a', now, 1, 1, now);
    g.prune(now + 1_500);
    expect(g.size).toBe(1);
    g.prune(now + 2_001);
    expect(g.size).toBe(0);
  });
});
