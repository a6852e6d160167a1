// The goals of issue 7 §5, §4 and §2, each judged against bench-results/latest.json (pure: no I/O).
// bench/report.ts renders these rows into docs/performance.md after `npm run bench`.
import { targetNames } from './fuzz/index.js';

/** Figures of one bench, as its function returned them (keys like "failover.httpP99Ms"). */
export type Figures = Record<string, number>;
/** One entry per bench that has run: its figures, when, and on what machine. */
export interface BenchRun { figures: Figures; date: string; machine: string }
export type Verdict = 'yes' | 'no' | 'partly' | 'not measured';

export interface GoalRow {
  goal: string;
  measured: string;
  verdict: Verdict;
  /** The benches the figures came from, with the date each was measured. */
  source: string;
}

interface GoalSpec {
  goal: string;
  benches: string[];
  /** undefined when a figure it needs is missing or NaN (the bench did not run that part). */
  judge: (f: (bench: string, key: string) => number | undefined) => { measured: string; verdict: Verdict } | undefined;
}

const ms = (v: number) => `${Math.round(v)} ms`;
const mib = (v: number) => `${Math.round(v)} MiB`;
const s = (v: number) => `${v.toFixed(1)} s`;
const upTo = (v: number, limit: number): Verdict => (v <= limit ? 'yes' : 'no');

/** Reads several figures at once; undefined if any is missing, so a row never half-renders. */
function all<K extends string>(f: (bench: string, key: string) => number | undefined, bench: string, keys: readonly K[]): Record<K, number> | undefined {
  const out = {} as Record<K, number>;
  for (const k of keys) {
    const v = f(bench, k);
    if (v === undefined) return undefined;
    out[k] = v;
  }
  return out;
}

const FUZZ_TARGETS = targetNames();

export const GOALS: readonly GoalSpec[] = [
  {
    goal: 'Layer-2 failover p99 ≤ 1.5 s (owner lost: link down + SIGKILL)',
    benches: ['layer2'],
    judge: (f) => {
      const v = all(f, 'layer2', ['failover.neighbourP50Ms', 'failover.neighbourP99Ms', 'failover.httpP50Ms', 'failover.httpP99Ms', 'failover.rounds', 'failover.failed'] as const);
      if (!v) return undefined;
      const worst = Math.max(v['failover.neighbourP99Ms'], v['failover.httpP99Ms']);
      return {
        measured: `client neighbour entry moved p50 ${ms(v['failover.neighbourP50Ms'])}, p99 ${ms(v['failover.neighbourP99Ms'])}; first HTTP answer p50 ${ms(v['failover.httpP50Ms'])}, p99 ${ms(v['failover.httpP99Ms'])} (${v['failover.rounds']} kills, ${v['failover.failed']} failed)`,
        verdict: v['failover.failed'] > 0 ? 'no' : upTo(worst, 1500),
      };
    },
  },
  {
    goal: 'Announce p99 ≤ 200 ms, layer 2',
    benches: ['layer2'],
    judge: (f) => {
      const v = all(f, 'layer2', ['announce.ingressToGarpP50Ms', 'announce.ingressToGarpP99Ms', 'announce.createToGarpP50Ms', 'announce.createToGarpP99Ms', 'announce.services'] as const);
      if (!v) return undefined;
      return {
        measured: `Service created → first gratuitous ARP at the client p50 ${ms(v['announce.createToGarpP50Ms'])}, p99 ${ms(v['announce.createToGarpP99Ms'])}; IP in the Service status → it p50 ${ms(v['announce.ingressToGarpP50Ms'])}, p99 ${ms(v['announce.ingressToGarpP99Ms'])} (${v['announce.services']} Services)`,
        verdict: upTo(v['announce.createToGarpP99Ms'], 200),
      };
    },
  },
  {
    goal: 'Announce p99 ≤ 200 ms, BGP',
    benches: ['bgp'],
    judge: (f) => {
      const v = all(f, 'bgp', ['serviceRoute.announceP50Ms', 'serviceRoute.announceP99Ms', 'serviceRoute.rounds', 'serviceRoute.announceFailed'] as const);
      if (!v) return undefined;
      return {
        measured: `Service created → its route in the router's kernel table (FRR) p50 ${ms(v['serviceRoute.announceP50Ms'])}, p99 ${ms(v['serviceRoute.announceP99Ms'])} (${v['serviceRoute.rounds']} rounds, ${v['serviceRoute.announceFailed']} failed)`,
        verdict: v['serviceRoute.announceFailed'] > 0 ? 'no' : upTo(v['serviceRoute.announceP99Ms'], 200),
      };
    },
  },
  {
    goal: 'Withdraw p99 ≤ 200 ms, BGP (Service deleted)',
    benches: ['bgp'],
    judge: (f) => {
      const v = all(f, 'bgp', ['serviceRoute.withdrawP50Ms', 'serviceRoute.withdrawP99Ms', 'serviceRoute.rounds', 'serviceRoute.withdrawFailed'] as const);
      if (!v) return undefined;
      return {
        measured: `Service deleted → its route gone from the router's kernel table p50 ${ms(v['serviceRoute.withdrawP50Ms'])}, p99 ${ms(v['serviceRoute.withdrawP99Ms'])} (${v['serviceRoute.rounds']} rounds, ${v['serviceRoute.withdrawFailed']} failed)`,
        verdict: v['serviceRoute.withdrawFailed'] > 0 ? 'no' : upTo(v['serviceRoute.withdrawP99Ms'], 200),
      };
    },
  },
  {
    goal: 'Withdraw p99 ≤ 200 ms, BGP (last local endpoint gone, ETP Local)',
    benches: ['bgp'],
    judge: (f) => {
      const v = all(f, 'bgp', ['endpointGone.p50', 'endpointGone.p99', 'endpointGone.rounds', 'endpointGone.failed'] as const);
      if (!v) return undefined;
      return {
        measured: `pod deleted → the node's next hop gone at the router p50 ${ms(v['endpointGone.p50'])}, p99 ${ms(v['endpointGone.p99'])} (${v['endpointGone.rounds']} rounds; includes kube-controller-manager's EndpointSlice update)`,
        verdict: v['endpointGone.failed'] > 0 ? 'no' : upTo(v['endpointGone.p99'], 200),
      };
    },
  },
  {
    goal: 'Create-to-IP p99 ≤ 100 ms, idle',
    benches: ['controller'],
    judge: (f) => {
      const v = all(f, 'controller', ['idle.createToIpP50Ms', 'idle.createToIpP99Ms', 'idle.services', 'idle.assigned'] as const);
      if (!v) return undefined;
      return {
        measured: `one Service at a time: create request → IP in the watched Service status p50 ${ms(v['idle.createToIpP50Ms'])}, p99 ${ms(v['idle.createToIpP99Ms'])} (${v['idle.assigned']}/${v['idle.services']} assigned)`,
        verdict: v['idle.assigned'] < v['idle.services'] ? 'no' : upTo(v['idle.createToIpP99Ms'], 100),
      };
    },
  },
  {
    goal: 'Create-to-IP p99 ≤ 500 ms at 100 creates/s',
    benches: ['controller'],
    judge: (f) => {
      const v = all(f, 'controller', ['paced.createToIpP50Ms', 'paced.createToIpP99Ms', 'paced.services', 'paced.assigned', 'paced.targetRatePerS', 'paced.achievedRatePerS'] as const);
      if (!v) return undefined;
      const atRate = v['paced.achievedRatePerS'] >= 0.95 * v['paced.targetRatePerS'];
      const fast = v['paced.createToIpP99Ms'] <= 500 && v['paced.assigned'] === v['paced.services'];
      return {
        measured: `${v['paced.services']} Services started on a ${v['paced.targetRatePerS']}/s schedule, ${v['paced.achievedRatePerS']}/s achieved: p50 ${ms(v['paced.createToIpP50Ms'])}, p99 ${ms(v['paced.createToIpP99Ms'])} (${v['paced.assigned']} assigned)${atRate ? '' : '; the API server did not take the full rate'}`,
        verdict: !fast ? 'no' : atRate ? 'yes' : 'partly',
      };
    },
  },
  {
    goal: 'BFD detection ≤ 300 ms',
    benches: ['bgp'],
    judge: (f) => {
      const v = all(f, 'bgp', ['linkDownBfd.detectionP50', 'linkDownBfd.detectionP99', 'linkDownBfd.detectionFailed', 'linkDownBfd.p50', 'linkDownBfd.p99', 'linkDownBfd.rounds'] as const);
      if (!v) return undefined;
      const hold = all(f, 'bgp', ['linkDownHold9s.p50'] as const);
      return {
        measured: `link down → our BFD session down (100 ms × 3) p50 ${ms(v['linkDownBfd.detectionP50'])}, p99 ${ms(v['linkDownBfd.detectionP99'])}; → the router dropped our route p50 ${ms(v['linkDownBfd.p50'])}, p99 ${ms(v['linkDownBfd.p99'])} (${v['linkDownBfd.rounds']} rounds; detection plus FRR's own route removal)${hold ? `; with a 9 s hold timer instead of BFD: ${ms(hold['linkDownHold9s.p50'])}` : ''}`,
        verdict: v['linkDownBfd.detectionFailed'] > 0 ? 'no' : upTo(v['linkDownBfd.detectionP99'], 300),
      };
    },
  },
  {
    goal: 'Speaker RSS ≤ 64 MiB at 1,000 IPs',
    benches: ['layer2'],
    judge: (f) => {
      const v = all(f, 'layer2', ['rss.services', 'rss.allAnnounced', 'rss.idleMiB', 'rss.atAllAnnouncedMiB', 'rss.peakMiB'] as const);
      if (!v) return undefined;
      return {
        measured: `${mib(v['rss.atAllAnnouncedMiB'])} with ${v['rss.services']} IPv6 VIPs announced${v['rss.allAnnounced'] ? '' : ' (not all announced in time)'}, peak ${mib(v['rss.peakMiB'])}, idle ${mib(v['rss.idleMiB'])}`,
        verdict: v['rss.services'] >= 1000 && v['rss.allAnnounced'] === 1 ? upTo(v['rss.peakMiB'], 64) : 'no',
      };
    },
  },
  {
    goal: "10,000 Services across the lab's nodes",
    benches: ['layer2'],
    judge: (f) => {
      const v = all(f, 'layer2', ['spread.services', 'spread.announced', 'spread.announcedBySeveral', 'spread.allAnnounced', 'spread.allAnnouncedS', 'spread.createRatePerS', 'spread.minPerSpeaker', 'spread.maxPerSpeaker', 'spread.speakerRssPeakMaxMiB', 'spread.curlOk'] as const);
      if (!v) return undefined;
      const done = v['spread.allAnnounced'] === 1;
      // Creation stops at the bench's deadline: `created` may be short of `services` (older entries have no `created`).
      const created = f('layer2', 'spread.created') ?? v['spread.services'];
      const createdText = created < v['spread.services'] ? `${created} of ${v['spread.services']} IPv6 Services created by the deadline` : `${created} IPv6 Services created`;
      return {
        measured: `${createdText} at ${v['spread.createRatePerS'].toFixed(1)}/s; ${done ? `every one created announced by exactly one of 3 speakers after ${s(v['spread.allAnnouncedS'])}` : `${v['spread.announced']} announced, ${v['spread.announcedBySeveral']} by two speakers, at the deadline`} (${v['spread.minPerSpeaker']}–${v['spread.maxPerSpeaker']} per speaker); largest speaker RSS ${mib(v['spread.speakerRssPeakMaxMiB'])}; a sample VIP ${v['spread.curlOk'] ? 'answered' : 'did NOT answer'} the client`,
        verdict: created >= 10_000 && done && v['spread.curlOk'] === 1 ? 'yes' : 'no',
      };
    },
  },
];

export const SCALE_GOALS: readonly GoalSpec[] = [
  {
    goal: '1,000 simulated speakers: detection, false positives, bytes per node, partition',
    benches: ['membershipScale'],
    judge: (f) => {
      const v = all(f, 'membershipScale', ['nodes', 'deaths', 'deathsUndetected', 'detectAllP50Ms', 'detectAllP99Ms', 'loss1FalseDeathsPerNodeHour', 'loss5DelayFalseDeathsPerNodeHour', 'loss5DelayFalseSuspicionsPerNodeHour', 'quietWireBytesPerSPerNode', 'partitionWireBytesPerSPerNode', 'healConvergedMs', 'partitionMinorityNodes', 'partitionVipsWithSeveralAnnouncersMax', 'vips'] as const);
      if (!v) return undefined;
      return {
        measured: `${v.nodes} nodes: ${v.deaths} silent deaths detected p50 ${ms(v.detectAllP50Ms)}, p99 ${ms(v.detectAllP99Ms)} (${v.deathsUndetected} missed); false deaths per node-hour ${v.loss1FalseDeathsPerNodeHour} at 1 % loss, ${v.loss5DelayFalseDeathsPerNodeHour} at 5 % loss + delay (${v.loss5DelayFalseSuspicionsPerNodeHour} suspicions, refuted); ${(v.quietWireBytesPerSPerNode / 1000).toFixed(1)} kB/s per node quiet, ${(v.partitionWireBytesPerSPerNode / 1000).toFixed(1)} kB/s in a partition; a ${v.partitionMinorityNodes}/${v.nodes - v.partitionMinorityNodes} partition had up to ${v.partitionVipsWithSeveralAnnouncersMax} of ${v.vips} VIPs announced on both sides (the partition guard covers a node cut off alone, not a split into groups), healed in ${ms(v.healConvergedMs)}`,
        verdict: v.nodes >= 1000 ? (v.deathsUndetected === 0 ? 'yes' : 'no') : 'partly',
      };
    },
  },
  {
    goal: 'Controller with 50,000 Services against the real API server: time and RSS',
    benches: ['controllerScale'],
    judge: (f) => {
      const v = all(f, 'controllerScale', ['services', 'assigned', 'createRatePerS', 'createAllS', 'createToIpP50Ms', 'createToIpP99Ms', 'controllerRssPeakMiB', 'controllerRssAfterMiB', 'restartFirstPassS', 'restartServiceWrites'] as const);
      if (!v) return undefined;
      const allAssignedS = f('controllerScale', 'allAssignedS');
      const done = v.assigned === v.services && allAssignedS !== undefined;
      // A restart that writes nothing found every Service with the IP it would give it.
      const allAtRestart = v.restartServiceWrites === 0;
      return {
        measured: `${v.services} Services created at ${v.createRatePerS}/s in ${s(v.createAllS)}; ${done ? `all assigned after ${s(allAssignedS!)}` : `the bench's watch saw ${v.assigned} get an IP${allAtRestart ? `; all ${v.services} had one at the restart (0 writes)` : ''}, time to the last one not measured`}; create-to-IP p50 ${ms(v.createToIpP50Ms)}, p99 ${ms(v.createToIpP99Ms)}; controller RSS peak ${mib(v.controllerRssPeakMiB)}, after ${mib(v.controllerRssAfterMiB)}; restart: first full pass ${s(v.restartFirstPassS)}, ${v.restartServiceWrites} Service writes`,
        verdict: v.services < 50_000 ? 'partly' : v.restartServiceWrites !== 0 ? 'no' : done ? 'yes' : 'partly',
      };
    },
  },
];

export const FUZZ_GOALS: readonly GoalSpec[] = [
  {
    goal: 'Every decoder fuzzed with ≥ 1,000,000 inputs: no crash, no hang, no unbounded memory',
    benches: ['fuzz'],
    judge: (f) => {
      const targets = FUZZ_TARGETS.filter((t) => f('fuzz', `${t} ok`) !== undefined);
      if (targets.length === 0) return undefined;
      const inputs = targets.map((t) => f('fuzz', `${t} inputs`) ?? 0);
      const failed = targets.filter((t) => f('fuzz', `${t} ok`) !== 1);
      const slowest = Math.max(...targets.map((t) => f('fuzz', `${t} slowest ms`) ?? Number.NaN));
      const growth = Math.max(...targets.map((t) => f('fuzz', `${t} heap growth MiB`) ?? Number.NaN));
      return {
        measured: `${targets.length} decoders, ${Math.min(...inputs).toLocaleString('en-US')} inputs each at least; ${failed.length ? `FAILED: ${failed.join(', ')}` : 'no crash or unexpected exception'}; slowest single input ${slowest.toFixed(1)} ms; largest heap growth ${growth.toFixed(1)} MiB`,
        verdict: failed.length === 0 && Math.min(...inputs) >= 1_000_000 && targets.length === FUZZ_TARGETS.length ? 'yes' : 'no',
      };
    },
  },
];

/** Judges each goal against the runs; a goal whose figures are missing says so instead of guessing. */
export function judgeGoals(goals: readonly GoalSpec[], runs: Readonly<Record<string, BenchRun>>): GoalRow[] {
  const figure = (bench: string, key: string) => {
    const v = runs[bench]?.figures[key];
    return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
  };
  return goals.map((g) => {
    const judged = g.judge(figure);
    const source = g.benches.map((b) => `\`${b === 'fuzz' ? 'bench/fuzz/' : `bench/${b}.ts`}\`${runs[b] ? ` (${runs[b]!.date.slice(0, 10)})` : ''}`).join(', ');
    return judged
      ? { goal: g.goal, measured: judged.measured, verdict: judged.verdict, source }
      : { goal: g.goal, measured: `not in bench-results/latest.json: run \`npm run bench -- ${g.benches.join(' ')}\``, verdict: 'not measured', source };
  });
}

const VERDICT_CELL: Record<Verdict, string> = { yes: 'yes', no: '**no**', partly: '**partly**', 'not measured': '**not measured**' };

export function goalTable(rows: readonly GoalRow[]): string {
  const esc = (t: string) => t.replaceAll('|', '\\|');
  return ['| goal | measured | met? | bench (date) |', '|---|---|---|---|',
    ...rows.map((r) => `| ${esc(r.goal)} | ${esc(r.measured)} | ${VERDICT_CELL[r.verdict]} | ${r.source} |`)].join('\n');
}

export const GENERATED_BEGIN = '<!-- generated by `npm run bench` (bench/report.ts): begin -->';
export const GENERATED_END = '<!-- generated: end -->';

/** Replaces the generated block of `doc` (or appends one); the hand-written text around it stays. */
export function replaceGenerated(doc: string, block: string): string {
  const generated = `${GENERATED_BEGIN}\n${block}\n${GENERATED_END}`;
  const a = doc.indexOf(GENERATED_BEGIN);
  const b = doc.indexOf(GENERATED_END);
  if (a >= 0 && b > a) return doc.slice(0, a) + generated + doc.slice(b + GENERATED_END.length);
  return `${doc.trimEnd()}\n\n${generated}\n`;
}
