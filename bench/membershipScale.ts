// Gossip membership and the layer-2 election at cluster scale (default 1,000 speakers), simulated
// in one process: the real MembershipCore over SimulatedCluster (fake clock, seeded loss, delay
// and partitions) and the real election (l2AnnouncerFor) evaluated from every node's own view.
// Reports detection of silent deaths, false suspicions per node-hour under loss and delay,
// convergence after a partition heals, bytes per second per node, and how many VIPs have zero or
// several announcers during a death and a partition. Figures only; nothing is asserted.
// Run alone: `IRONLB_SCALE_NODES=1000 npm run bench -- membershipScale` (records into bench-results/latest.json).
import { pathToFileURL } from 'node:url';
import type { L2Advertisement } from '../src/config/model.js';
import { l2AnnouncerFor, type L2ElectionInput, type NodeFacts } from '../src/speaker/election.js';
import { MembershipCore } from '../src/speaker/membership/core.js';
import { SIM_PORT, SimulatedCluster, percentile, seededRandom, type SimNode } from '../src/speaker/membership/simulatedCluster.js';

// 1,000 is the target (IRONLB_SCALE_NODES=1000): about 8 s of wall time per simulated second on
// the 2-core machine of docs/scale.md, so the default is a size that finishes in about 3 minutes.
const NODES = Number(process.env.IRONLB_SCALE_NODES ?? 300);
const DEATHS = Number(process.env.IRONLB_SCALE_DEATHS ?? 50);
const VIPS = 1000;
/** Seconds of simulated time per false-positive phase. */
const FP_SECONDS = Number(process.env.IRONLB_SCALE_FP_SECONDS ?? 20);
const PARTITION_SECONDS = Number(process.env.IRONLB_SCALE_PARTITION_SECONDS ?? 5);
const IP_UDP_HEADERS = 28;
const KEY = Buffer.from('membership-scale-bench-key-00000');
const L2AD: L2Advertisement = { name: 'scale', pools: ['scale'], nodeSelectors: [], interfaces: [], serviceSelectors: [], preferredNodeSelectors: [] };

/** The election of every VIP from every running node's view; counts VIPs with 0 and >1 announcers. */
class ElectionProbe {
  private readonly ranked: string[][];
  private readonly vips: string[];
  private readonly nodes: NodeFacts[];
  private readonly rng = seededRandom(77);
  checks = 0;

  constructor(names: readonly string[]) {
    this.nodes = names.map((name) => ({ name, labels: {}, networkUnavailable: false }));
    this.vips = Array.from({ length: VIPS }, (_, i) => `2001:db8:ca1e::${(i + 1).toString(16)}`);
    const all = new Set(names);
    // The real election with every node alive gives each VIP's candidate order; a node's own
    // answer is the first candidate its view holds alive (spot-checked against l2AnnouncerFor below).
    this.ranked = this.vips.map((ip) => l2AnnouncerFor(this.input(ip, all)).candidates ?? []);
  }

  private input(ingressIp: string, aliveNodes: ReadonlySet<string>): L2ElectionInput {
    return { ingressIp, externalTrafficPolicyLocal: false, sharesIp: false, serviceLabels: {}, advertisements: [L2AD], nodes: this.nodes, aliveNodes, endpoints: [{ serving: true }] };
  }

  sample(sim: SimulatedCluster): { zero: number; multiple: number } {
    const counts = new Uint16Array(VIPS);
    const running = sim.nodes.filter((n) => n.status === 'running' || n.status === 'paused');
    for (const n of running) {
      const view = n.core.aliveNodes();
      for (let v = 0; v < VIPS; v++) {
        const ranked = this.ranked[v] as string[];
        let winner: string | undefined;
        for (const c of ranked) if (view.has(c)) { winner = c; break; }
        if (winner === n.name) counts[v] = (counts[v] as number) + 1;
      }
    }
    // Spot check: the shortcut above agrees with the real election on this node's view.
    for (let k = 0; k < 2 && running.length > 0; k++) {
      const n = running[Math.floor(this.rng() * running.length)] as SimNode;
      const v = Math.floor(this.rng() * VIPS);
      const view = n.core.aliveNodes();
      const real = l2AnnouncerFor(this.input(this.vips[v] as string, view)).announcer;
      const shortcut = (this.ranked[v] as string[]).find((c) => view.has(c));
      if (real !== shortcut) throw new Error(`election shortcut disagrees for ${this.vips[v]} on ${n.name}: ${real} vs ${shortcut}`);
      this.checks++;
    }
    let zero = 0;
    let multiple = 0;
    for (const c of counts) {
      if (c === 0) zero++;
      else if (c > 1) multiple++;
    }
    return { zero, multiple };
  }
}

/** Every running node sees exactly the running nodes alive (cheaper than converged(): no staleness). */
function viewsAgree(sim: SimulatedCluster): boolean {
  return sim.converged();
}

function bytesSent(sim: SimulatedCluster): { bytes: number; datagrams: number } {
  let bytes = 0;
  let datagrams = 0;
  for (const n of sim.nodes) {
    bytes += n.core.stats.bytesSent;
    datagrams += n.core.stats.datagramsSent;
  }
  return { bytes, datagrams };
}

function sum(sim: SimulatedCluster, pick: (n: SimNode) => number): number {
  let s = 0;
  for (const n of sim.nodes) s += pick(n);
  return s;
}

function wirePerNodePerSecond(sim: SimulatedCluster, before: { bytes: number; datagrams: number }, seconds: number): number {
  const now = bytesSent(sim);
  return Math.round((now.bytes - before.bytes + (now.datagrams - before.datagrams) * IP_UDP_HEADERS) / sim.nodes.length / seconds);
}

export async function benchMembershipScale(): Promise<Record<string, number>> {
  const wall0 = Date.now();
  const r: Record<string, number> = { nodes: NODES, vips: VIPS };
  const log = (line: string) => console.log(`membership x${NODES}: ${line} (wall ${((Date.now() - wall0) / 1000).toFixed(0)} s)`);
  const sim = new SimulatedCluster({ seed: 4242, nodes: NODES, key: KEY, startSpreadMs: 1_000, seedsPerNode: 5 });
  const names = sim.nodes.map((n) => n.name);
  // Events are counted as they happen: keeping a million join events and scanning them per death is what made this slow.
  sim.recordEvents = false;
  const status = new Map(sim.nodes.map((n) => [n.name, n]));
  let watched: { victim: string; seen: Map<string, number> } | undefined;
  let falseDeathEvents = 0;
  sim.onEvent = ({ observer, event }) => {
    if (event.kind !== 'member' || (event.to !== 'dead' && event.to !== 'left')) return;
    if (watched && event.name === watched.victim) {
      if (!watched.seen.has(observer)) watched.seen.set(observer, event.at - sim.wallNow + sim.now);
      return;
    }
    const member = status.get(event.name);
    if (member && (member.status === 'running' || member.status === 'paused')) falseDeathEvents++;
  };
  const election = new ElectionProbe(names);
  const rng = seededRandom(99);

  // 1. Formation (every node joins through 5 random seeds).
  while (!viewsAgree(sim) && sim.now < 60_000) sim.runFor(100);
  r.joinSimS = sim.now / 1000;
  r.joinConverged = viewsAgree(sim) ? 1 : 0;
  log(`formed in ${r.joinSimS} s simulated (converged ${r.joinConverged})`);
  sim.runFor(3_000);

  // 2. Quiet cluster: bytes per node.
  let before = bytesSent(sim);
  sim.runFor(5_000);
  r.quietWireBytesPerSPerNode = wirePerNodePerSecond(sim, before, 5);
  r.quietDatagramsPerSPerNode = Math.round((bytesSent(sim).datagrams - before.datagrams) / NODES / 5);
  log(`quiet: ${r.quietWireBytesPerSPerNode} B/s and ${r.quietDatagramsPerSPerNode} datagrams/s per node (wire, sent)`);

  // 3. Silent deaths, one at a time: the victim crashes, every survivor must see it dead; then it
  //    restarts (a new process, same name) so the cluster stays at full size.
  const allMs: number[] = [];
  const firstMs: number[] = [];
  let undetected = 0;
  let deathZeroMax = 0;
  let deathMultipleMax = 0;
  let deathZeroVipSeconds = 0;
  before = bytesSent(sim);
  const deathsStart = sim.now;
  for (let d = 0; d < DEATHS; d++) {
    const victim = sim.nodes[Math.floor(rng() * NODES)] as SimNode;
    if (victim.status !== 'running') continue;
    const crashedAt = sim.now;
    watched = { victim: victim.name, seen: new Map() };
    sim.crash(victim.name);
    const survivors = sim.nodes.filter((n) => n !== victim && n.status === 'running');
    let detected = false;
    while (sim.now - crashedAt < 10_000) {
      sim.runFor(100);
      const s = election.sample(sim);
      deathZeroMax = Math.max(deathZeroMax, s.zero);
      deathMultipleMax = Math.max(deathMultipleMax, s.multiple);
      deathZeroVipSeconds += s.zero * 0.1;
      if (survivors.every((n) => !n.core.aliveNodes().has(victim.name))) { detected = true; break; }
    }
    if (!detected) undetected++;
    const seenAt = watched.seen;
    const seen = survivors.map((n) => seenAt.get(n.name) ?? Number.POSITIVE_INFINITY);
    watched = undefined;
    allMs.push(Math.max(...seen) - crashedAt);
    firstMs.push(Math.min(...seen) - crashedAt);
    sim.runFor(300);
    const seeds = Array.from({ length: 5 }, () => ({ address: (sim.nodes[Math.floor(rng() * NODES)] as SimNode).address, port: SIM_PORT }));
    sim.restart(victim.name, new MembershipCore({ nodeName: victim.name, address: victim.address, port: SIM_PORT, key: KEY, seeds, random: seededRandom(1_000 + d) }));
    sim.runFor(400); // the restarted node rejoins before the next crash
    if (d % 10 === 9) log(`${d + 1} deaths`);
  }
  const finite = allMs.filter(Number.isFinite);
  r.deaths = allMs.length;
  r.deathsUndetected = undetected;
  r.detectAllP50Ms = Math.round(percentile(finite, 50));
  r.detectAllP99Ms = Math.round(percentile(finite, 99));
  r.detectAllMaxMs = Math.round(Math.max(...finite));
  r.detectFirstP50Ms = Math.round(percentile(firstMs, 50));
  r.deathPhaseWireBytesPerSPerNode = wirePerNodePerSecond(sim, before, (sim.now - deathsStart) / 1000);
  r.deathVipsWithoutAnnouncerMax = deathZeroMax;
  r.deathVipsWithSeveralAnnouncersMax = deathMultipleMax;
  r.deathVipSecondsWithoutAnnouncer = Math.round(deathZeroVipSeconds * 10) / 10;
  log(`${r.deaths} silent deaths: every survivor knows after p50 ${r.detectAllP50Ms} ms, p99 ${r.detectAllP99Ms} ms, max ${r.detectAllMaxMs} ms (first survivor p50 ${r.detectFirstP50Ms} ms), undetected ${undetected}; VIPs without announcer max ${deathZeroMax} (${r.deathVipSecondsWithoutAnnouncer} VIP-s in all), with several max ${deathMultipleMax}`);
  while (!viewsAgree(sim) && sim.now - deathsStart < (DEATHS + 30) * 1_500) sim.runFor(100);

  // 4. False suspicions under loss and delay (nobody dies: every suspicion and death is false).
  const phases: [string, number, { minMs: number; meanExtraMs: number }][] = [
    ['loss1', 0.01, { minMs: 0.2, meanExtraMs: 1 }],
    ['loss5Delay', 0.05, { minMs: 2, meanExtraMs: 10 }],
  ];
  for (const [label, loss, latency] of phases) {
    sim.lossRate = loss;
    sim.latency = latency;
    const s0 = sum(sim, (n) => n.core.stats.suspicionsRaised);
    const dead0 = falseDeathEvents;
    sim.runFor(FP_SECONDS * 1_000);
    const nodeHours = (NODES * FP_SECONDS) / 3600;
    const suspicions = sum(sim, (n) => n.core.stats.suspicionsRaised) - s0;
    const deaths = falseDeathEvents - dead0;
    r[`${label}FalseSuspicionsPerNodeHour`] = Math.round((suspicions / nodeHours) * 10) / 10;
    r[`${label}FalseDeathsPerNodeHour`] = Math.round((deaths / nodeHours) * 10) / 10;
    r[`${label}FalseSuspicions`] = suspicions;
    r[`${label}FalseDeathEvents`] = deaths;
    log(`${loss * 100}% loss, delay ${latency.minMs} ms + exp(${latency.meanExtraMs} ms), ${FP_SECONDS} s simulated: ${suspicions} false suspicions (${r[`${label}FalseSuspicionsPerNodeHour`]} per node-hour), ${deaths} false death events (${r[`${label}FalseDeathsPerNodeHour`]} per node-hour)`);
  }
  sim.lossRate = 0;
  sim.latency = { minMs: 0.2, meanExtraMs: 1 };
  while (!viewsAgree(sim) && sim.now < 1e9) sim.runFor(100);

  // 5. Partition: a minority group (10 %) is cut off for PARTITION_SECONDS, then healed.
  const minority = new Set(names.filter((_, i) => i % 10 === 0));
  const addressGroup = new Map(sim.nodes.map((n) => [n.address, minority.has(n.name)]));
  sim.linkUp = (from, toAddress) => minority.has(from) === addressGroup.get(toAddress);
  const cutAt = sim.now;
  before = bytesSent(sim);
  let partitionMultipleMax = 0;
  let partitionZeroMax = 0;
  let splitSeenMs = Number.NaN;
  while (sim.now - cutAt < PARTITION_SECONDS * 1_000) {
    sim.runFor(100);
    const s = election.sample(sim);
    partitionMultipleMax = Math.max(partitionMultipleMax, s.multiple);
    partitionZeroMax = Math.max(partitionZeroMax, s.zero);
    if (Number.isNaN(splitSeenMs) && sim.nodes.every((n) => n.core.aliveNodes().size === (minority.has(n.name) ? minority.size : NODES - minority.size))) splitSeenMs = sim.now - cutAt;
  }
  r.partitionSeconds = PARTITION_SECONDS;
  r.partitionMinorityNodes = minority.size;
  r.partitionBothSidesSplitMs = splitSeenMs;
  r.partitionVipsWithSeveralAnnouncersMax = partitionMultipleMax;
  r.partitionVipsWithoutAnnouncerMax = partitionZeroMax;
  r.partitionWireBytesPerSPerNode = wirePerNodePerSecond(sim, before, PARTITION_SECONDS);
  log(`partition ${minority.size}/${NODES - minority.size} for ${PARTITION_SECONDS} s: both sides split after ${splitSeenMs} ms; VIPs with several announcers max ${partitionMultipleMax}, without ${partitionZeroMax}; ${r.partitionWireBytesPerSPerNode} B/s per node (re-contacting the other side)`);

  sim.linkUp = () => true;
  const healAt = sim.now;
  let electionConsistentMs = Number.NaN;
  let healMultipleMax = 0;
  while (!viewsAgree(sim) && sim.now - healAt < 60_000) {
    sim.runFor(100);
    const s = election.sample(sim);
    healMultipleMax = Math.max(healMultipleMax, s.multiple);
    if (Number.isNaN(electionConsistentMs) && s.multiple === 0 && s.zero === 0) electionConsistentMs = sim.now - healAt;
  }
  const healed = viewsAgree(sim);
  if (Number.isNaN(electionConsistentMs) && healed) electionConsistentMs = sim.now - healAt;
  const after = election.sample(sim);
  r.healConvergedMs = healed ? sim.now - healAt : Number.NaN;
  r.healElectionConsistentMs = electionConsistentMs;
  r.afterHealVipsWithoutAnnouncer = after.zero;
  r.afterHealVipsWithSeveralAnnouncers = after.multiple;
  r.electionSpotChecks = election.checks;
  r.falseDeathEventsIncludingPartition = falseDeathEvents;
  r.simulatedS = Math.round(sim.now / 1000);
  r.wallS = Math.round((Date.now() - wall0) / 1000);
  log(`heal: every view agrees after ${r.healConvergedMs} ms, every VIP has exactly one announcer after ${electionConsistentMs} ms; after: ${after.zero} VIPs without, ${after.multiple} with several announcers; ${election.checks} spot checks against l2AnnouncerFor agreed`);
  return r;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const r = await benchMembershipScale();
  console.log(JSON.stringify(r, null, 2));
}
