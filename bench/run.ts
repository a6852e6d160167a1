// `npm run bench`: every benchmark, figures printed and written to bench-results/latest.json
// (one object per bench plus the machine it ran on); nothing here asserts timings.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../src/lab/projectRoot.js';
import { benchAllocator } from './allocator.js';
import { benchBgp } from './bgp.js';
import { benchController } from './controller.js';
import { benchControllerScale } from './controllerScale.js';
import { benchFuzz } from './fuzz/index.js';
import { benchLayer2 } from './layer2.js';
import { benchMembership } from './membership.js';
import { benchMembershipScale } from './membershipScale.js';

const results: Record<string, Record<string, number>> = {};
const machine = {
  cpuModel: cpus()[0]?.model ?? 'unknown',
  cores: cpus().length,
  ramGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
  node: process.version,
  date: new Date().toISOString(),
};
const out = join(projectRoot(), 'bench-results', 'latest.json');
/** Rewritten after every bench, so a later failure keeps the figures measured so far. */
function save(): void {
  mkdirSync(join(projectRoot(), 'bench-results'), { recursive: true });
  writeFileSync(out, `${JSON.stringify({ machine, results }, null, 2)}\n`);
}
console.log('== allocator (in-process) ==');
results.allocator = await benchAllocator();
save();
console.log('\n== controller against a real API server ==');
results.controller = await benchController();
save();
console.log('\n== gossip membership (simulated) ==');
results.membership = await benchMembership();
save();
console.log('\n== gossip membership and election at scale (simulated; IRONLB_SCALE_NODES, default 300) ==');
results.membershipScale = await benchMembershipScale();
save();
console.log('\n== controller at scale against a real API server (IRONLB_SCALE_SERVICES, default 50,000) ==');
results.controllerScale = await benchControllerScale();
save();
console.log('\n== layer 2 in the lab: failover, announce, speaker memory ==');
results.layer2 = await benchLayer2();
save();
console.log('\n== BGP in the lab (FRR router): endpoint gone, BFD detection, 10,000 prefixes ==');
results.bgp = await benchBgp();
save();
console.log('\n== fuzz: every decoder, 1,000,000 hostile inputs each (details in bench-results/fuzz.json) ==');
const fuzz = await benchFuzz();
results.fuzz = Object.fromEntries(fuzz.targets.flatMap((t) => [[`${t.target} inputs/s`, t.inputsPerSecond], [`${t.target} slowest ms`, Number(t.slowestMs.toFixed(2))], [`${t.target} ok`, t.ok ? 1 : 0]]));
if (!fuzz.ok) process.exitCode = 1;
save();
console.log('\n== summary (JSON) ==');
console.log(JSON.stringify({ machine, results }, null, 2));
console.log(`written to ${out}`);
