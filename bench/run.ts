// `npm run bench`: every benchmark, figures printed; nothing here asserts timings.
import { benchAllocator } from './allocator.js';
import { benchBgp } from './bgp.js';
import { benchController } from './controller.js';
import { benchFuzz } from './fuzz/index.js';
import { benchLayer2 } from './layer2.js';
import { benchMembership } from './membership.js';

const results: Record<string, Record<string, number>> = {};
console.log('== allocator (in-process) ==');
results.allocator = await benchAllocator();
console.log('\n== controller against a real API server ==');
results.controller = await benchController();
console.log('\n== gossip membership (simulated) ==');
results.membership = await benchMembership();
console.log('\n== layer 2 in the lab: failover, announce, speaker memory ==');
results.layer2 = await benchLayer2();
console.log('\n== BGP in the lab (FRR router): endpoint gone, BFD detection, 10,000 prefixes ==');
results.bgp = await benchBgp();
console.log('\n== fuzz: every decoder, 1,000,000 hostile inputs each (details in bench-results/fuzz.json) ==');
const fuzz = await benchFuzz();
results.fuzz = Object.fromEntries(fuzz.targets.flatMap((t) => [[`${t.target} inputs/s`, t.inputsPerSecond], [`${t.target} slowest ms`, Number(t.slowestMs.toFixed(2))], [`${t.target} ok`, t.ok ? 1 : 0]]));
if (!fuzz.ok) process.exitCode = 1;
console.log('\n== summary (JSON) ==');
console.log(JSON.stringify(results, null, 2));
