// Small-scale properties of the cluster the scale bench runs (bench/membershipScale.ts): at 100
// nodes joined through a few seeds, every silent death is seen by every survivor, nobody running
// is declared dead at 0 % loss, and a restarted node rejoins. No timing assertions beyond the
// protocol's own bounds (simulated time).
import { describe, expect, it } from 'vitest';
import { MembershipCore } from '../../src/speaker/membership/core.js';
import { MessageType } from '../../src/speaker/membership/codec.js';
import { SIM_PORT, SimulatedCluster, seededRandom } from '../../src/speaker/membership/simulatedCluster.js';

describe('membership at 100 nodes (simulated)', () => {
  it('detects every death, declares no running node dead and takes restarted nodes back', () => {
    const key = Buffer.from('membership-scale-unit-test-key-0');
    const sim = new SimulatedCluster({ seed: 7, nodes: 100, key, seedsPerNode: 5, startSpreadMs: 500 });
    while (!sim.converged() && sim.now < 20_000) sim.runFor(100);
    expect(sim.converged()).toBe(true);
    const rng = seededRandom(3);
    const victims = new Set<string>();
    for (let d = 0; d < 5; d++) {
      const victim = sim.nodes[1 + Math.floor(rng() * 99)]!;
      if (victim.status !== 'running') continue;
      const crashedAt = sim.now;
      victims.add(victim.name);
      sim.crash(victim.name);
      const survivors = sim.nodes.filter((n) => n.status === 'running');
      sim.runUntil(crashedAt + 10_000, () => survivors.every((n) => !n.core.aliveNodes().has(victim.name)));
      for (const s of survivors) expect(sim.deathSeenAt(s.name, victim.name, crashedAt), `${s.name} about ${victim.name}`).toBeDefined();
      sim.restart(victim.name, new MembershipCore({ nodeName: victim.name, address: victim.address, port: SIM_PORT, key, seeds: [{ address: sim.nodes[0]!.address, port: SIM_PORT }], random: seededRandom(100 + d) }));
      while (!sim.converged() && sim.now < crashedAt + 30_000) sim.runFor(100);
      expect(sim.converged(), `after restarting ${victim.name}`).toBe(true);
    }
    // Victims run again after their restart, so their (true) deaths are left out here.
    expect(sim.falseDeaths().filter((e) => e.event.kind === 'member' && !victims.has(e.event.name))).toEqual([]);
  });

  it('joins through a few seeds only when asked (seedsPerNode), deterministically', () => {
    const views = [1, 2].map(() => {
      const sim = new SimulatedCluster({ seed: 11, nodes: 30, seedsPerNode: 2 });
      while (!sim.converged() && sim.now < 20_000) sim.runFor(50);
      return { converged: sim.converged(), at: sim.now, bytes: sim.nodes.map((n) => n.core.stats.bytesSent).join(',') };
    });
    expect(views[0]!.converged).toBe(true);
    expect(views[1]).toEqual(views[0]);
  });

  it('answers a full table that spans several datagrams once, not once per datagram', () => {
    const sim = new SimulatedCluster({ seed: 5, nodes: 80, seedsPerNode: 3 });
    while (!sim.converged() && sim.now < 20_000) sim.runFor(100);
    expect(sim.converged()).toBe(true);
    sim.recordWire = true;
    sim.runFor(15_000); // three push-pull rounds
    const TYPE_OFFSET = 3;
    const requests = sim.wire.filter((w) => w.bytes[TYPE_OFFSET] === MessageType.SyncRequest);
    const answers = sim.wire.filter((w) => w.bytes[TYPE_OFFSET] === MessageType.Sync);
    const messages = new Map<string, number>();
    for (const w of requests) messages.set(`${w.from}>${w.to.address}@${w.at}`, (messages.get(`${w.from}>${w.to.address}@${w.at}`) ?? 0) + 1);
    // 80 members do not fit one datagram: each request is several datagrams.
    expect(Math.min(...messages.values())).toBeGreaterThan(1);
    // Both sides hold the same 80-member table, so one answer per request is as many datagrams as the requests.
    expect(answers.length).toBeLessThanOrEqual(requests.length * 1.2);
  });
});
