// `npm run bench`: every benchmark, figures printed; nothing here asserts timings.
import { benchAllocator } from './allocator.js';
import { benchController } from './controller.js';

const results: Record<string, Record<string, number>> = {};
console.log('== allocator (in-process) ==');
results.allocator = await benchAllocator();
console.log('\n== controller against a real API server ==');
results.controller = await benchController();
console.log('\n== summary (JSON) ==');
console.log(JSON.stringify(results, null, 2));
