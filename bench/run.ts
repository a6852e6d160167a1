// `npm run bench [-- name ...]`: every benchmark (or the named ones), figures printed and written
// to bench-results/latest.json (one entry per bench with its date and machine; entries of benches
// not run this time are kept), then the goal tables of docs/performance.md rendered from it.
// Nothing here asserts timings.
import { pathToFileURL } from 'node:url';
import { benchAllocator } from './allocator.js';
import { benchBgp } from './bgp.js';
import { benchController } from './controller.js';
import { benchControllerScale } from './controllerScale.js';
import { benchFuzz, type FuzzTargetReport } from './fuzz/index.js';
import type { Figures } from './goals.js';
import { benchLayer2, layer2PartsRun } from './layer2.js';
import { benchMembership } from './membership.js';
import { benchMembershipScale } from './membershipScale.js';
import { benchSpeakerPass } from './speakerPass.js';
import { PERFORMANCE_DOC, writeReport } from './report.js';
import { LATEST, machineDescription, mergePartialRun, readRuns, writeRuns } from './results.js';

/** Flat figures of a fuzz run (also of a saved bench-results/fuzz.json): per decoder, inputs, rate, slowest input, heap growth, ok. */
export function fuzzFigures(targets: readonly FuzzTargetReport[]): Figures {
  return Object.fromEntries(targets.flatMap((t) => [
    [`${t.target} inputs`, t.inputs], [`${t.target} inputs/s`, t.inputsPerSecond], [`${t.target} slowest ms`, Number(t.slowestMs.toFixed(2))],
    [`${t.target} heap growth MiB`, Number((t.heapGrowthBytes / 2 ** 20).toFixed(2))], [`${t.target} ok`, t.ok ? 1 : 0],
  ]));
}

async function runFuzz(): Promise<Figures> {
  const fuzz = await benchFuzz();
  if (!fuzz.ok) process.exitCode = 1;
  return fuzzFigures(fuzz.targets);
}

export const BENCHES: readonly (readonly [string, string, () => Promise<Figures>])[] = [
  ['allocator', 'allocator (in-process)', benchAllocator],
  ['controller', 'controller against a real API server: idle and paced create-to-IP', benchController],
  ['speakerPass', 'the layer-2 election pass over 1,000 and 10,000 Services (in-process)', benchSpeakerPass],
  ['membership', 'gossip membership (simulated)', benchMembership],
  ['membershipScale', 'gossip membership and election at scale (simulated; IRONLB_SCALE_NODES, default 300)', benchMembershipScale],
  ['controllerScale', 'controller at scale against a real API server (IRONLB_SCALE_SERVICES, default 50,000)', benchControllerScale],
  ['layer2', 'layer 2 in the lab: failover, announce, speaker memory, 10,000 Services spread', benchLayer2],
  ['bgp', 'BGP in the lab (FRR router): Service announce/withdraw, endpoint gone, BFD, 10,000 prefixes', benchBgp],
  ['fuzz', 'fuzz: every decoder, 1,000,000 hostile inputs each (details in bench-results/fuzz.json)', runFuzz],
];

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const wanted = process.argv.slice(2);
  const unknown = wanted.filter((w) => !BENCHES.some(([name]) => name === w));
  if (unknown.length) {
    console.error(`unknown bench ${unknown.join(', ')}: choose from ${BENCHES.map(([n]) => n).join(', ')}`);
    process.exit(2);
  }
  const runs = readRuns();
  for (const [name, title, bench] of BENCHES) {
    if (wanted.length && !wanted.includes(name)) continue;
    console.log(`\n== ${name}: ${title} ==`);
    const machine = machineDescription();
    const date = new Date().toISOString();
    const run = { figures: await bench(), date, machine };
    const parts = name === 'layer2' ? layer2PartsRun() : undefined;
    runs[name] = parts ? mergePartialRun(runs[name], parts, run) : run;
    writeRuns(runs); // after every bench, so a later failure keeps the figures measured so far
    writeReport(runs);
  }
  console.log('\n== summary (JSON) ==');
  console.log(JSON.stringify(runs, null, 2));
  console.log(`written to ${LATEST} and ${PERFORMANCE_DOC}`);
}
