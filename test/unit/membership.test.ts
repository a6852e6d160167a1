// The membership protocol driven through a simulated lossy network with a fake clock.
import { describe, expect, it } from 'vitest';
import { MembershipCore, type MembershipEvent } from '../../src/speaker/membership/core.js';
import { SIM_PORT, SimulatedCluster, percentile, seededRandom, simulateNodeLoss } from '../../src/speaker/membership/simulatedCluster.js';
import { DEFAULT_TIMING, resolveTiming } from '../../src/speaker/membership/timing.js';

function converge(sim: SimulatedCluster, withinMs = 5_000): number {
  const start = sim.now;
  expect(sim.runUntil(start + withinMs, () => sim.converged()), `converged within ${withinMs} ms`).toBe(true);
  return sim.now - start;
}

function memberEvents(sim: SimulatedCluster, pred: (e: Extract<MembershipEvent, { kind: 'member' }>, observer: string) => boolean) {
  return sim.events.filter((o) => o.event.kind === 'member' && pred(o.event, o.observer));
}

describe('membership: forming a cluster', () => {
  it.each([3, 10, 50])('%i nodes started within 100 ms converge to one view', (n) => {
    const sim = new SimulatedCluster({ seed: n, nodes: n });
    const took = converge(sim, 5_000);
    expect(took).toBeLessThan(n <= 10 ? 500 : 2_000);
    const names = sim.nodes.map((x) => x.name).sort();
    for (const node of sim.nodes) expect([...node.core.aliveNodes()].sort()).toEqual(names);
    sim.runFor(5_000);
    expect(sim.falseDeaths()).toEqual([]);
    expect(sim.converged()).toBe(true);
  });

  it('a node that starts late joins through its seeds; its view is stale until a member answers', () => {
    const sim = new SimulatedCluster({ seed: 7, nodes: 4, startSpreadMs: 10 });
    const late = sim.node('node-3');
    sim.crash('node-3'); // hold it back: replace with a fresh core started later
    converge(sim);
    const core = new MembershipCore({ nodeName: 'node-9', address: '192.0.2.99', port: SIM_PORT, key: Buffer.from('simulated-cluster-shared-key-000'), seeds: sim.nodes.map((x) => ({ address: x.address, port: x.port })), random: seededRandom(9) });
    const events: MembershipEvent[] = [];
    core.onChange((e) => events.push(e));
    const out = core.start(sim.wallNow);
    expect(core.isViewStale()).toBe(true);
    expect(out.length).toBeGreaterThanOrEqual(3); // one sync request per other seed
    // Deliver its requests by hand and feed the answers back.
    let answers = 0;
    for (const d of out) {
      const target = sim.nodes.find((x) => x.address === d.address && x !== late);
      if (!target) continue;
      for (const reply of target.core.receive({ address: '192.0.2.99', port: SIM_PORT }, d.bytes, sim.wallNow)) {
        if (reply.address !== '192.0.2.99') continue;
        answers++;
        core.receive({ address: target.address, port: target.port }, reply.bytes, sim.wallNow + 1);
      }
    }
    expect(answers).toBeGreaterThan(0);
    expect(core.isViewStale()).toBe(false);
    expect(events).toContainEqual(expect.objectContaining({ kind: 'view', stale: false, reason: 'synced' }));
    expect([...core.aliveNodes()].sort()).toEqual(['node-0', 'node-1', 'node-2', 'node-9']);
  });

  it('a lone node turns fresh after joinTimeoutMs and reports only itself', () => {
    const core = new MembershipCore({ nodeName: 'solo', address: '192.0.2.1', port: SIM_PORT, key: Buffer.alloc(16, 1), seeds: [{ address: '192.0.2.2', port: SIM_PORT }] });
    core.start(0 + 1e12);
    let t = 1e12;
    while (core.isViewStale() && t < 1e12 + 5_000) core.tick((t += 10));
    expect(t - 1e12).toBeGreaterThanOrEqual(DEFAULT_TIMING.joinTimeoutMs);
    expect(t - 1e12).toBeLessThan(DEFAULT_TIMING.joinTimeoutMs + 50);
    expect([...core.aliveNodes()]).toEqual(['solo']);
  });
});

describe('membership: detecting an unplanned node loss', () => {
  it('3 nodes: p99 of "every survivor knows" <= 1000 ms over 150 seeded runs, never faster than a pause can last', () => {
    const all: number[] = [];
    for (let seed = 1; seed <= 150; seed++) {
      const r = simulateNodeLoss({ seed, nodes: 3 });
      expect(r.falseDeaths).toBe(0);
      all.push(r.allMs);
    }
    const p50 = percentile(all, 50);
    const p99 = percentile(all, 99);
    expect(p99).toBeLessThanOrEqual(1_000);
    expect(p50).toBeLessThanOrEqual(800);
    // The floor is the pause tolerance: probeTimeout + suspicionMin (see docs/membership.md).
    expect(Math.min(...all)).toBeGreaterThanOrEqual(DEFAULT_TIMING.probeTimeoutMs + DEFAULT_TIMING.suspicionMinMs - 20);
  });

  it('10 nodes with 2% loss: p99 <= 1000 ms over 40 runs', () => {
    const all: number[] = [];
    for (let seed = 1; seed <= 40; seed++) {
      const r = simulateNodeLoss({ seed, nodes: 10, lossRate: 0.02 });
      expect(r.falseDeaths).toBe(0);
      all.push(r.allMs);
    }
    expect(percentile(all, 99)).toBeLessThanOrEqual(1_000);
  });
});

describe('membership: no false deaths', () => {
  it.each([0, 0.02, 0.05])('5 nodes, %f loss, 60 s: nobody is declared dead', (loss) => {
    for (const seed of [1, 2, 3]) {
      const sim = new SimulatedCluster({ seed, nodes: 5, lossRate: loss });
      converge(sim);
      sim.runFor(60_000);
      expect(sim.falseDeaths(), `seed ${seed}`).toEqual([]);
      expect(sim.converged()).toBe(true);
    }
  });

  it.each(['io-first', 'timer-first'] as const)('a 400 ms pause of one node (%s on resume) causes no death, and the paused node accuses nobody', (order) => {
    for (let seed = 1; seed <= 25; seed++) {
      const sim = new SimulatedCluster({ seed, nodes: 3, lossRate: 0.02, resumeOrder: order });
      converge(sim);
      sim.runFor(500 + seededRandom(seed)() * 500);
      const victim = sim.nodes[seed % 3]!;
      const raisedBefore = victim.core.stats.suspicionsRaised;
      sim.pause(victim.name, 400);
      sim.runFor(400 + DEFAULT_TIMING.probeTimeoutMs);
      // The paused node noticed its stall and did not accuse anyone because of it (its probes
      // sent before the pause timed out while it was frozen).
      expect(victim.core.stats.stalls).toBeGreaterThanOrEqual(1);
      expect(victim.core.stats.suspicionsRaised, `seed ${seed}`).toBe(raisedBefore);
      sim.runFor(3_000);
      expect(sim.falseDeaths(), `seed ${seed}`).toEqual([]);
      expect(sim.converged(), `seed ${seed}`).toBe(true);
    }
  });

  it('a 500 ms pause with 5% loss is still survived (margin above the 400 ms target)', () => {
    for (let seed = 1; seed <= 25; seed++) {
      const sim = new SimulatedCluster({ seed, nodes: 5, lossRate: 0.05 });
      converge(sim);
      sim.runFor(700);
      sim.pause(sim.nodes[seed % 5]!.name, 500);
      sim.runFor(3_000);
      expect(sim.falseDeaths(), `seed ${seed}`).toEqual([]);
    }
  });
});

describe('membership: refutation, leave, stalls, restarts, partitions', () => {
  it('a suspected node refutes with a higher incarnation', () => {
    const sim = new SimulatedCluster({ seed: 11, nodes: 3 });
    converge(sim);
    const victim = sim.node('node-1');
    const refuted: MembershipEvent[] = [];
    victim.core.onChange((e) => { if (e.kind === 'refuted') refuted.push(e); });
    // Drop everything to node-1 for 200 ms: its probes fail and it becomes suspect, but not dead.
    sim.linkUp = (_from, to) => to !== victim.address;
    sim.runFor(250);
    sim.linkUp = () => true;
    sim.runFor(1_500);
    expect(memberEvents(sim, (e) => e.name === 'node-1' && e.to === 'suspect').length).toBeGreaterThan(0);
    expect(victim.core.stats.refutations).toBeGreaterThanOrEqual(1);
    expect(victim.core.ownIncarnation).toBeGreaterThanOrEqual(1);
    // One event per refutation, saying what was claimed.
    expect(refuted.length).toBe(victim.core.stats.refutations);
    expect(refuted.map((e) => (e.kind === 'refuted' ? e.claimed : ''))).toContain('suspect');
    for (const n of sim.nodes.filter((x) => x !== victim)) {
      const view = n.core.memberList().find((m) => m.name === 'node-1');
      expect(view).toMatchObject({ state: 'alive', incarnation: victim.core.ownIncarnation });
    }
    expect(sim.falseDeaths()).toEqual([]);
  });

  it('a node that leaves is dropped at once (no detector wait) and stays gone', () => {
    const sim = new SimulatedCluster({ seed: 12, nodes: 4 });
    converge(sim);
    const leftAt = sim.now;
    sim.leave('node-2');
    sim.runFor(50);
    for (const n of sim.nodes.filter((x) => x.name !== 'node-2')) {
      expect(n.core.aliveNodes().has('node-2')).toBe(false);
      expect(sim.deathSeenAt(n.name, 'node-2', leftAt)! - leftAt).toBeLessThan(20);
      expect(n.core.memberList().find((m) => m.name === 'node-2')?.state).toBe('left');
    }
    sim.runFor(10_000);
    for (const n of sim.nodes.filter((x) => x.name !== 'node-2')) expect(n.core.aliveNodes().has('node-2')).toBe(false);
    expect(sim.node('node-2').core.aliveNodes().has('node-2')).toBe(false);
    expect(sim.node('node-2').core.tick(sim.wallNow)).toEqual([]);
  });

  it('a node paused far longer than the tolerance is declared dead, then refutes and rejoins after re-syncing', () => {
    const sim = new SimulatedCluster({ seed: 13, nodes: 3 });
    converge(sim);
    const victim = sim.node('node-0');
    const viewEvents: MembershipEvent[] = [];
    victim.core.onChange((e) => viewEvents.push(e));
    sim.pause('node-0', 1_500);
    sim.runFor(1_490);
    expect(sim.node('node-1').core.aliveNodes().has('node-0')).toBe(false);
    sim.runFor(1_000);
    expect(sim.converged()).toBe(true);
    expect(viewEvents).toContainEqual(expect.objectContaining({ kind: 'view', stale: true, reason: 'stalled' }));
    expect(viewEvents).toContainEqual(expect.objectContaining({ kind: 'view', stale: false, reason: 'synced' }));
    // The stalled node never accused the others.
    expect(viewEvents.filter((e) => e.kind === 'member' && (e.to === 'dead' || e.to === 'suspect'))).toEqual([]);
    // It refuted (here the suspicion, which overtook the death): its speaker re-announces its IPs on this.
    expect(viewEvents).toContainEqual(expect.objectContaining({ kind: 'refuted', incarnation: victim.core.ownIncarnation }));
    expect(victim.core.ownIncarnation).toBeGreaterThanOrEqual(1);
  });

  it('a stall shorter than the probe timeout makes the view stale but needs no refutation (so no re-announcement)', () => {
    for (let seed = 1; seed <= 10; seed++) {
      const sim = new SimulatedCluster({ seed, nodes: 3 });
      converge(sim);
      const victim = sim.node('node-0');
      const events: MembershipEvent[] = [];
      victim.core.onChange((e) => events.push(e));
      sim.pause('node-0', 120);
      sim.runFor(2_000);
      expect(events, `seed ${seed}`).toContainEqual(expect.objectContaining({ kind: 'view', stale: true, reason: 'stalled' }));
      expect(events.filter((e) => e.kind === 'refuted'), `seed ${seed}`).toEqual([]);
      expect(victim.core.stats.refutations, `seed ${seed}`).toBe(0);
    }
  });

  it('a restarted process with the same name rejoins without ever being declared dead', () => {
    const sim = new SimulatedCluster({ seed: 14, nodes: 3 });
    converge(sim);
    const old = sim.node('node-2');
    sim.crash('node-2');
    sim.runFor(20);
    const fresh = new MembershipCore({ nodeName: 'node-2', address: old.address, port: old.port, key: Buffer.from('simulated-cluster-shared-key-000'), seeds: sim.nodes.map((x) => ({ address: x.address, port: x.port })), random: seededRandom(99) });
    sim.restart('node-2', fresh);
    sim.runFor(3_000);
    expect(sim.converged()).toBe(true);
    expect(memberEvents(sim, (e) => e.name === 'node-2' && e.to === 'dead')).toEqual([]);
  });

  it('a healed partition merges back: both sides re-contact dead members', () => {
    const sim = new SimulatedCluster({ seed: 15, nodes: 4 });
    converge(sim);
    const side = new Set([sim.node('node-0').address, sim.node('node-1').address]);
    const sideOf = (name: string) => side.has(sim.node(name).address);
    sim.linkUp = (from, toAddress) => sideOf(from) === side.has(toAddress);
    sim.runFor(3_000);
    expect([...sim.node('node-0').core.aliveNodes()].sort()).toEqual(['node-0', 'node-1']);
    expect([...sim.node('node-3').core.aliveNodes()].sort()).toEqual(['node-2', 'node-3']);
    sim.linkUp = () => true;
    const healed = sim.now;
    expect(sim.runUntil(healed + 6_000, () => sim.converged())).toBe(true);
    expect(sim.now - healed).toBeLessThanOrEqual(DEFAULT_TIMING.reconnectIntervalMs + 1_000);
  });
});

describe('membership: hostile datagrams', () => {
  it('a node with the wrong key is never admitted and sees nobody', () => {
    const sim = new SimulatedCluster({ seed: 21, nodes: 3 });
    converge(sim);
    const intruder = new MembershipCore({ nodeName: 'intruder', address: '192.0.2.66', port: SIM_PORT, key: Buffer.from('a-completely-different-key-0000'), seeds: sim.nodes.map((x) => ({ address: x.address, port: x.port })) });
    let t = sim.wallNow;
    const send = (out: ReturnType<MembershipCore['tick']>) => {
      for (const d of out) {
        const to = sim.nodes.find((x) => x.address === d.address);
        if (to) sim.inject(to.name, { address: '192.0.2.66', port: SIM_PORT }, d.bytes);
      }
    };
    send(intruder.start(t));
    for (let i = 0; i < 300; i++) {
      sim.runFor(10);
      t = sim.wallNow;
      send(intruder.tick(t));
    }
    for (const n of sim.nodes) {
      expect(n.core.aliveNodes().has('intruder')).toBe(false);
      expect(n.core.stats.dropped.badMac).toBeGreaterThan(0);
    }
    expect([...intruder.aliveNodes()]).toEqual(['intruder']);
    expect(sim.falseDeaths()).toEqual([]);
  });

  it('replayed datagrams neither resurrect a dead node nor mask a death', () => {
    const sim = new SimulatedCluster({ seed: 22, nodes: 3 });
    sim.recordWire = true;
    converge(sim);
    sim.runFor(1_000);
    const victim = sim.node('node-1');
    const captured = sim.wire.filter((w) => w.from === 'node-1');
    expect(captured.length).toBeGreaterThan(10);
    const crashedAt = sim.now;
    sim.crash('node-1');
    // An attacker replays everything node-1 ever said, every 50 ms, starting right after the crash.
    const replayAll = () => {
      for (const w of captured) {
        const to = sim.nodes.find((x) => x.address === w.to.address && x.status === 'running');
        if (to) sim.inject(to.name, { address: victim.address, port: victim.port }, w.bytes);
      }
    };
    for (let i = 0; i < 40; i++) {
      replayAll();
      sim.runFor(50);
    }
    for (const n of sim.nodes.filter((x) => x !== victim)) {
      expect(n.core.aliveNodes().has('node-1')).toBe(false);
      expect(sim.deathSeenAt(n.name, 'node-1', crashedAt)! - crashedAt).toBeLessThanOrEqual(1_000);
      expect(n.core.stats.dropped.replay).toBeGreaterThan(0);
    }
    // Much later the captures are refused by their timestamps alone.
    sim.runFor(DEFAULT_TIMING.maxClockSkewMs + 1_000);
    replayAll();
    sim.runFor(100);
    for (const n of sim.nodes.filter((x) => x !== victim)) {
      expect(n.core.aliveNodes().has('node-1')).toBe(false);
      expect(n.core.stats.dropped.stale).toBeGreaterThan(0);
    }
  });

  it('garbage, truncated and bit-flipped datagrams are counted, never thrown', () => {
    const sim = new SimulatedCluster({ seed: 23, nodes: 2 });
    sim.recordWire = true;
    converge(sim);
    const target = sim.node('node-0');
    const sample = sim.wire.find((w) => w.from === 'node-1')!.bytes;
    const rng = seededRandom(5);
    const from = { address: sim.node('node-1').address, port: SIM_PORT };
    let fed = 0;
    for (let i = 0; i < 500; i++) {
      const kind = i % 3;
      let b: Buffer;
      if (kind === 0) b = Buffer.from(Array.from({ length: Math.floor(rng() * 200) }, () => Math.floor(rng() * 256)));
      else if (kind === 1) b = sample.subarray(0, Math.floor(rng() * sample.length));
      else {
        b = Buffer.from(sample);
        const at = Math.floor(rng() * b.length);
        b[at] = (b[at] as number) ^ (1 + Math.floor(rng() * 255));
      }
      expect(() => target.core.receive(from, b, sim.wallNow)).not.toThrow();
      fed++;
    }
    const d = target.core.stats.dropped;
    expect(d.short + d.badMagic + d.badVersion + d.badMac + d.malformed).toBe(fed);
    expect(sim.converged()).toBe(true);
  });
});

describe('membership: long uptimes', () => {
  it('a datagram counter that wraps starts a new replay epoch instead of being refused', () => {
    const key = Buffer.alloc(16, 7);
    const t0 = 1_760_000_000_000;
    const a = new MembershipCore({ nodeName: 'a', address: '192.0.2.1', port: SIM_PORT, key, seeds: [{ address: '192.0.2.2', port: SIM_PORT }] });
    const b = new MembershipCore({ nodeName: 'b', address: '192.0.2.2', port: SIM_PORT, key });
    b.start(t0);
    (a as unknown as { datagramSeq: number }).datagramSeq = 0xffffffff - 3;
    let t = t0;
    // Deliver everything between the two at once, both ways.
    const toB = (out: ReturnType<MembershipCore['tick']>): void => {
      for (const d of out) if (d.address === '192.0.2.2') toA(b.receive({ address: '192.0.2.1', port: SIM_PORT }, d.bytes, t));
    };
    const toA = (out: ReturnType<MembershipCore['tick']>): void => {
      for (const d of out) if (d.address === '192.0.2.1') toB(a.receive({ address: '192.0.2.2', port: SIM_PORT }, d.bytes, t));
    };
    toB(a.start(t));
    for (let i = 0; i < 50; i++) {
      t += 10;
      toB(a.tick(t));
      toA(b.tick(t));
    }
    expect((a as unknown as { datagramSeq: number }).datagramSeq).toBeLessThan(100);
    expect(b.stats.dropped.replay).toBe(0);
    expect(b.stats.datagramsReceived).toBeGreaterThan(8);
    expect(b.aliveNodes().has('a')).toBe(true);
  });
});

describe('membership timing', () => {
  it('rejects combinations that cannot work, naming the field', () => {
    expect(() => resolveTiming({ directAckTimeoutMs: 200, probeTimeoutMs: 100 })).toThrow(/directAckTimeoutMs/);
    expect(() => resolveTiming({ suspicionMinMs: 900, suspicionMaxMs: 600 })).toThrow(/suspicionMinMs/);
    expect(() => resolveTiming({ stallThresholdMs: 5 })).toThrow(/stallThresholdMs/);
    expect(() => resolveTiming({ tickMs: -1 })).toThrow(/tickMs/);
    expect(resolveTiming({ probeIntervalMs: 150 }).probeIntervalMs).toBe(150);
  });
});
