// `npm run bench`: every benchmark, figures printed; nothing here asserts timings.
import { benchAllocator } from './allocator.js';
import { benchBgp } from './bgp.js';
import { benchController } from './controller.js';
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
console.log('\n== summary (JSON) ==');
console.log(JSON.stringify(results, null, 2));
