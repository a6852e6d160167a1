// The gossip on its own worker thread: a main thread blocked for seconds (a burst of Services)
// must not get its node declared dead. The contrast case shows the same block does get a
// main-thread GossipMembership declared dead, so the first test can fail.
import { afterEach, describe, expect, it } from 'vitest';
import type { MembershipEvent } from '../../src/speaker/membership/core.js';
import { GossipMembership } from '../../src/speaker/membership/gossipMembership.js';
import { GossipThread } from '../../src/speaker/membership/gossipThread.js';

const KEY = Buffer.from('thread-test-key-0123456789abcdef');
const BASE = 30_000 + (process.pid % 15_000);
const closers: (() => void)[] = [];

afterEach(() => {
  for (const c of closers.splice(0)) c();
});

async function until(fn: () => boolean, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

function blockMainThread(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    // busy: no event-loop turn, as a long synchronous reconcile would do
  }
}

const deaths = (events: MembershipEvent[]) => events.filter((e) => e.kind === 'member' && (e.to === 'dead' || e.to === 'suspect')).map((e) => (e.kind === 'member' ? `${e.name}:${e.to}` : ''));

describe('GossipThread', () => {
  it('keeps acking while the main thread is blocked for 2 s: nobody is suspected', async () => {
    const seeds = [`127.0.0.1:${BASE}`, `127.0.0.1:${BASE + 1}`];
    const a = await GossipThread.start({ nodeName: 'a', bindAddress: '127.0.0.1', port: BASE, key: KEY, seeds });
    closers.push(() => a.close());
    const b = await GossipThread.start({ nodeName: 'b', bindAddress: '127.0.0.1', port: BASE + 1, key: KEY, seeds });
    closers.push(() => b.close());
    await Promise.all([a.ready(), b.ready()]);
    await until(() => a.aliveNodes().has('b') && b.aliveNodes().has('a'));
    const seenByA: MembershipEvent[] = [];
    const seenByB: MembershipEvent[] = [];
    a.onChange((e) => seenByA.push(e));
    b.onChange((e) => seenByB.push(e));
    blockMainThread(2_000);
    await new Promise((r) => setTimeout(r, 300)); // let the mirrored events arrive
    expect(deaths(seenByA)).toEqual([]);
    expect(deaths(seenByB)).toEqual([]);
    expect([...a.aliveNodes()].sort()).toEqual(['a', 'b']);
    const { stats } = await a.snapshot();
    expect(stats.probes).toBeGreaterThan(10); // it really was probing during the block
    expect(stats.deathsDeclared).toBe(0);
    expect(a.goneNodes().size).toBe(0);
  });

  it('contrast: a main-thread GossipMembership blocked for 2 s is declared dead by its peer', async () => {
    const seeds = [`127.0.0.1:${BASE + 2}`, `127.0.0.1:${BASE + 3}`];
    const onMain = await GossipMembership.start({ nodeName: 'main', bindAddress: '127.0.0.1', port: BASE + 2, key: KEY, seeds });
    closers.push(() => onMain.close());
    const peer = await GossipThread.start({ nodeName: 'peer', bindAddress: '127.0.0.1', port: BASE + 3, key: KEY, seeds });
    closers.push(() => peer.close());
    await Promise.all([onMain.ready(), peer.ready()]);
    await until(() => peer.aliveNodes().has('main') && onMain.aliveNodes().has('peer'));
    const seenByPeer: MembershipEvent[] = [];
    peer.onChange((e) => seenByPeer.push(e));
    blockMainThread(2_000);
    await new Promise((r) => setTimeout(r, 300));
    expect(deaths(seenByPeer)).toContain('main:dead');
    // It refuted once unblocked: alive again, so not "gone"; closed for good, it is.
    await until(() => peer.aliveNodes().has('main'));
    expect(peer.goneNodes().has('main')).toBe(false);
    onMain.close();
    await until(() => peer.goneNodes().has('main'));
  });

  it('reports a bind failure with the membership message', async () => {
    const first = await GossipThread.start({ nodeName: 'x', bindAddress: '127.0.0.1', port: BASE + 4, key: KEY });
    closers.push(() => first.close());
    await expect(GossipThread.start({ nodeName: 'y', bindAddress: '127.0.0.1', port: BASE + 4, key: KEY })).rejects.toThrow(/cannot bind UDP 127.0.0.1 port/);
    await expect(GossipThread.start({ nodeName: 'z', bindAddress: '127.0.0.1', port: BASE + 5, key: Buffer.alloc(4) })).rejects.toThrow(/at least 16 bytes/);
  });
});
