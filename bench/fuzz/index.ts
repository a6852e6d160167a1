// The fuzz bench: every wire and config decoder, each fed `count` generated inputs in its own worker
// thread. Fails a target on an escaped exception, a broken invariant, an input slower than `slowMs`
// (confirmed by re-runs), or heap growth after GC above `heapBoundBytes`. Hangs are caught by a watchdog.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { projectRoot } from '../../src/lab/projectRoot.js';
import { Worker } from 'node:worker_threads';
import { Rng } from './random.js';
import { TARGETS } from './targets.js';
import type { WorkerJob, WorkerResult } from './worker.js';

export interface FuzzOptions {
  count?: number;
  seed?: number;
  /** Target names (or prefixes such as "bgp."); all when empty. */
  decoders?: readonly string[];
  slowMs?: number;
  heapBoundBytes?: number;
  /** No progress on one input for this long = hang. */
  hangMs?: number;
  resultsFile?: string;
}

export interface FuzzTargetReport extends WorkerResult {
  seed: number;
  inputsPerSecond: number;
  heapGrowthBytes: number;
  peakRssBytes: number;
  ok: boolean;
  problem?: string;
}

const MiB = 1024 * 1024;

export function targetNames(): string[] {
  return TARGETS.map((t) => t.name);
}

function runInWorker(job: Omit<WorkerJob, 'progress'>, hangMs: number): Promise<WorkerResult & { peakRssBytes: number }> {
  const progress = new SharedArrayBuffer(4);
  const view = new Int32Array(progress);
  const worker = new Worker(new URL('./worker.js', import.meta.url), { workerData: { ...job, progress } });
  let peakRss = process.memoryUsage.rss();
  return new Promise((resolve, reject) => {
    let last = -1;
    let lastChange = Date.now();
    const watchdog = setInterval(() => {
      peakRss = Math.max(peakRss, process.memoryUsage.rss());
      const at = Atomics.load(view, 0);
      if (at !== last) {
        last = at;
        lastChange = Date.now();
      } else if (Date.now() - lastChange > hangMs) {
        clearInterval(watchdog);
        void worker.terminate();
        const target = TARGETS.find((t) => t.name === job.target)!;
        resolve({
          target: job.target, covers: target.covers, inputs: at + 1, accepted: 0, rejected: 0, allowedThrows: 0, seconds: 0,
          slowestMs: hangMs, slowestIndex: at, slowFirstRuns: 0, heapBaselineBytes: 0, heapAfterBytes: 0, heapPeakBytes: 0, peakRssBytes: peakRss,
          failure: { index: at, kind: 'slow', message: `hang: no progress for ${hangMs} ms`, input: target.show(target.generate(new Rng(job.seed, at))) },
        });
      }
    }, 250);
    worker.once('message', (r: WorkerResult) => {
      clearInterval(watchdog);
      peakRss = Math.max(peakRss, process.memoryUsage.rss());
      resolve({ ...r, peakRssBytes: peakRss });
    });
    worker.once('error', (e) => {
      clearInterval(watchdog);
      reject(e);
    });
  });
}

export async function benchFuzz(opts: FuzzOptions = {}): Promise<{ ok: boolean; targets: FuzzTargetReport[] }> {
  const count = opts.count ?? 1_000_000;
  const seed = (opts.seed ?? 0x1b1b_2025) >>> 0;
  const slowMs = opts.slowMs ?? 100;
  const heapBound = opts.heapBoundBytes ?? 32 * MiB;
  const hangMs = opts.hangMs ?? 10_000;
  const wanted = opts.decoders?.length ? TARGETS.filter((t) => opts.decoders!.some((d) => t.name === d || t.name.startsWith(d))) : TARGETS;
  if (!wanted.length) throw new Error(`no fuzz target matches ${opts.decoders?.join(', ')}; targets: ${targetNames().join(', ')}`);
  console.log(`fuzz: ${wanted.length} targets x ${count.toLocaleString('en')} inputs, seed ${seed} (0x${seed.toString(16)}), slow bound ${slowMs} ms, heap bound ${heapBound / MiB} MiB`);
  console.log('target                 inputs    inputs/s  accepted  rejected  slowest ms  re-runs  heap growth  peak RSS  verdict');
  const reports: FuzzTargetReport[] = [];
  for (const t of wanted) {
    // Each target gets its own seed derived from the run seed, so adding a target does not shift the others.
    const targetSeed = new Rng(seed, [...t.name].reduce((h, c) => Math.imul(h ^ c.charCodeAt(0), 16777619) >>> 0, 2166136261)).u32();
    const r = await runInWorker({ target: t.name, seed: targetSeed, count, slowMs }, hangMs);
    const growth = r.heapAfterBytes - r.heapBaselineBytes;
    let problem: string | undefined;
    if (r.failure) problem = `${r.failure.kind} at input ${r.failure.index}: ${r.failure.message}`;
    else if (growth > heapBound) problem = `heap grew by ${(growth / MiB).toFixed(1)} MiB after GC (bound ${heapBound / MiB} MiB)`;
    const rep: FuzzTargetReport = {
      ...r,
      seed: targetSeed,
      inputsPerSecond: r.seconds > 0 ? Math.round(r.inputs / r.seconds) : 0,
      heapGrowthBytes: growth,
      ok: problem === undefined,
      ...(problem ? { problem } : {}),
    };
    reports.push(rep);
    console.log(
      `${t.name.padEnd(20)} ${String(rep.inputs).padStart(8)} ${String(rep.inputsPerSecond).padStart(11)} ${String(rep.accepted).padStart(9)} ${String(rep.rejected).padStart(9)} ${rep.slowestMs.toFixed(2).padStart(11)} ${String(rep.slowFirstRuns).padStart(8)} ${((growth / MiB).toFixed(2) + ' MiB').padStart(12)} ${((rep.peakRssBytes / MiB).toFixed(0) + ' MiB').padStart(9)}  ${rep.ok ? 'ok' : 'FAIL'}`,
    );
    if (!rep.ok) {
      console.log(`  FAIL ${t.name}: ${problem}`);
      if (r.failure) {
        console.log(`  replay: node dist/bench/fuzz/run.js --decoder ${t.name} --target-seed ${targetSeed} --index ${r.failure.index}`);
        console.log(`  input: ${r.failure.input.slice(0, 4000)}`);
      }
    }
  }
  const ok = reports.every((r) => r.ok);
  const file = opts.resultsFile ?? join(projectRoot(), 'bench-results', 'fuzz.json'); // next to latest.json
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(
    file,
    JSON.stringify(
      { when: new Date().toISOString(), machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, memoryBytes: totalmem(), node: process.version }, seed, count, slowMs, heapBoundBytes: heapBound, ok, targets: reports },
      null,
      2,
    ) + '\n',
  );
  console.log(`fuzz: ${ok ? 'all targets passed' : 'FAILED'}; results in ${file}`);
  return { ok, targets: reports };
}
