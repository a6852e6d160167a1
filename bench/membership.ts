// Gossip membership, simulated (fake clock, seeded): how long an unplanned node loss takes to be
// known by every survivor, over >= 200 seeded runs, and what the protocol costs on the wire per
// node in a quiet cluster of 3 and of 50. Real-UDP figures come from test/e2e/membership.test.ts.
// Run alone: `npm run bench -- membership`.
import { pathToFileURL } from 'node:url';
import { SimulatedCluster, percentile, simulateNodeLoss } from '../src/speaker/membership/simulatedCluster.js';
import { DEFAULT_TIMING } from '../src/speaker/membership/timing.js';

const RUNS = 200;
/** IPv4 + UDP headers, added to the payload for wire bytes. */
const IP_UDP_HEADERS = 28;

function detection(nodes: number, lossRate: number, runs: number): Record<string, number> {
  const all: number[] = [];
  const first: number[] = [];
  let falseDeaths = 0;
  for (let seed = 1; seed <= runs; seed++) {
    const r = simulateNodeLoss({ seed, nodes, lossRate });
    all.push(r.allMs);
    first.push(r.firstMs);
    falseDeaths += r.falseDeaths;
  }
  return {
    runs,
    p50Ms: Math.round(percentile(all, 50)),
    p99Ms: Math.round(percentile(all, 99)),
    maxMs: Math.round(Math.max(...all)),
    firstSurvivorP50Ms: Math.round(percentile(first, 50)),
    falseDeaths,
  };
}

function steadyTraffic(nodes: number): Record<string, number> {
  const sim = new SimulatedCluster({ seed: 1000 + nodes, nodes });
  if (!sim.runUntil(20_000, () => sim.converged())) throw new Error(`bench: ${nodes} nodes did not converge`);
  sim.runFor(5_000);
  const before = sim.nodes.map((n) => ({ bytes: n.core.stats.bytesSent, datagrams: n.core.stats.datagramsSent }));
  const seconds = 20;
  sim.runFor(seconds * 1_000);
  let bytes = 0;
  let datagrams = 0;
  sim.nodes.forEach((n, i) => {
    bytes += n.core.stats.bytesSent - (before[i] as { bytes: number }).bytes;
    datagrams += n.core.stats.datagramsSent - (before[i] as { datagrams: number }).datagrams;
  });
  const perNode = (v: number) => v / sim.nodes.length / seconds;
  return {
    datagramsPerSecondPerNode: Math.round(perNode(datagrams)),
    payloadBytesPerSecondPerNode: Math.round(perNode(bytes)),
    wireBytesPerSecondPerNode: Math.round(perNode(bytes + datagrams * IP_UDP_HEADERS)),
  };
}

export async function benchMembership(): Promise<Record<string, number>> {
  const t = DEFAULT_TIMING;
  console.log(`timing: probe every ${t.probeIntervalMs} ms (ring successor + round-robin), indirect after ${t.directAckTimeoutMs} ms via ${t.indirectChecks}, suspect after ${t.probeTimeoutMs} ms, dead after ${t.suspicionMinMs}-${t.suspicionMaxMs} ms`);
  const results: Record<string, number> = {};
  const put = (prefix: string, figures: Record<string, number>) => {
    for (const [k, v] of Object.entries(figures)) results[`${prefix}.${k}`] = v;
  };
  for (const [nodes, loss, runs] of [[3, 0, RUNS], [3, 0.05, RUNS], [10, 0, RUNS], [50, 0, 50]] as const) {
    const started = Date.now();
    const d = detection(nodes, loss, runs);
    put(`detect${nodes}${loss ? `loss${loss * 100}` : ''}`, d);
    console.log(`node loss, ${nodes} nodes, ${loss * 100}% datagram loss, ${d.runs} seeded runs: every survivor knows after p50 ${d.p50Ms} ms, p99 ${d.p99Ms} ms, max ${d.maxMs} ms (first survivor p50 ${d.firstSurvivorP50Ms} ms); false deaths ${d.falseDeaths} (${Date.now() - started} ms)`);
  }
  for (const nodes of [3, 50]) {
    const s = steadyTraffic(nodes);
    put(`traffic${nodes}`, s);
    console.log(`quiet cluster of ${nodes}: per node ${s.datagramsPerSecondPerNode} datagrams/s, ${s.payloadBytesPerSecondPerNode} B/s payload, ${s.wireBytesPerSecondPerNode} B/s with IP/UDP headers (sent; received is the same on average)`);
  }
  return results;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const r = await benchMembership();
  console.log(JSON.stringify(r, null, 2));
}
