// node dist/bench/fuzz/run.js [--count N] [--seed S] [--decoder name[,name]] [--list]
//   replay one input: --decoder NAME --target-seed S --index I (prints the input and the decoder's answer)
import { Rng } from './random.js';
import { TARGETS } from './targets.js';
import { benchFuzz } from './index.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const num = (v: string | undefined) => (v === undefined ? undefined : Number(v.replace(/_/g, '')));

if (process.argv.includes('--list')) {
  for (const t of TARGETS) console.log(`${t.name.padEnd(20)} ${t.covers}`);
} else if (arg('index') !== undefined) {
  const t = TARGETS.find((x) => x.name === arg('decoder'));
  if (!t) throw new Error('--index needs --decoder NAME and --target-seed S');
  const input = t.generate(new Rng(num(arg('target-seed'))!, num(arg('index'))!));
  console.log(`input: ${t.show(input)}`);
  console.log(`verdict: ${t.run(input)}`); // let it throw: this is the replay
} else {
  const decoders = arg('decoder')?.split(',');
  const r = await benchFuzz({ count: num(arg('count')), seed: num(arg('seed')), ...(decoders ? { decoders } : {}), ...(arg('out') ? { resultsFile: arg('out') } : {}) });
  process.exitCode = r.ok ? 0 : 1;
}
