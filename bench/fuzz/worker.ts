// Runs one target in its own thread so that the main thread can stop it if one input hangs, and so
// that its heap is measured apart from the others'.
import { parentPort, workerData } from 'node:worker_threads';
import { runInNewContext } from 'node:vm';
import { setFlagsFromString, getHeapStatistics } from 'node:v8';
import { Rng } from './random.js';
import { TARGETS } from './targets.js';
import type { FuzzTarget, Verdict } from './target.js';

export interface WorkerJob {
  target: string;
  seed: number;
  count: number;
  /** Int32Array over a SharedArrayBuffer: [0] = index of the input being run. */
  progress: SharedArrayBuffer;
  slowMs: number;
}

export interface TargetFailure {
  index: number;
  kind: 'exception' | 'invariant' | 'slow';
  message: string;
  input: string;
}

export interface WorkerResult {
  target: string;
  covers: string;
  inputs: number;
  accepted: number;
  rejected: number;
  /** Thrown errors of the type the contract allows (counted among rejected). */
  allowedThrows: number;
  seconds: number;
  /** Slowest input (ms); for an input whose first run exceeded the bound, the best of its 3 re-runs. */
  slowestMs: number;
  slowestIndex: number;
  /** Inputs whose first run exceeded the bound but whose re-runs did not (scheduling/GC noise). */
  slowFirstRuns: number;
  heapBaselineBytes: number;
  heapAfterBytes: number;
  heapPeakBytes: number;
  failure?: TargetFailure;
}

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function heapAfterGc(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

function runOne(target: FuzzTarget, input: unknown): { verdict: Verdict | 'allowedThrow'; ms: number } {
  const t0 = process.hrtime.bigint();
  let verdict: Verdict | 'allowedThrow';
  try {
    verdict = target.run(input);
  } catch (e) {
    if (target.allowed?.(e)) verdict = 'allowedThrow';
    else throw e;
  }
  return { verdict, ms: Number(process.hrtime.bigint() - t0) / 1e6 };
}

export async function runTarget(job: Omit<WorkerJob, 'progress'>, progress?: Int32Array): Promise<WorkerResult> {
  const target = TARGETS.find((t) => t.name === job.target);
  if (!target) throw new Error(`no fuzz target "${job.target}"`);
  const r: WorkerResult = {
    target: target.name, covers: target.covers, inputs: 0, accepted: 0, rejected: 0, allowedThrows: 0, seconds: 0,
    slowestMs: 0, slowestIndex: -1, slowFirstRuns: 0, heapBaselineBytes: 0, heapAfterBytes: 0, heapPeakBytes: 0,
  };
  // Baseline after a warm-up so that lazily built caches and JIT code are not counted as growth.
  const warmup = Math.min(1000, Math.floor(job.count / 10));
  const started = process.hrtime.bigint();
  for (let i = 0; i < job.count; i++) {
    if (progress) Atomics.store(progress, 0, i);
    // Let promise reactions run (the OVSDB connection settles its requests asynchronously); a purely
    // synchronous loop would keep every settled promise alive and look like a leak.
    if ((i & 0x3ff) === 0) await new Promise((resolve) => setImmediate(resolve));
    if (i === warmup) r.heapBaselineBytes = heapAfterGc();
    if ((i & 0xfff) === 0) r.heapPeakBytes = Math.max(r.heapPeakBytes, getHeapStatistics().used_heap_size);
    const input = target.generate(new Rng(job.seed, i));
    let outcome: ReturnType<typeof runOne>;
    try {
      outcome = runOne(target, input);
    } catch (e) {
      const err = e as Error;
      r.failure = {
        index: i,
        kind: err?.name === 'InvariantViolation' ? 'invariant' : 'exception',
        message: `${err?.name ?? 'thrown'}: ${err?.message ?? String(e)}\n${err?.stack?.split('\n').slice(1, 6).join('\n') ?? ''}`,
        input: target.show(input),
      };
      r.inputs = i + 1;
      break;
    }
    if (outcome.ms > job.slowMs) {
      // Re-run before calling it slow: on a loaded 2-core machine one run can lose the CPU for 100 ms.
      const again = Math.min(...[0, 1, 2].map(() => runOne(target, target.generate(new Rng(job.seed, i))).ms));
      if (again > job.slowMs) {
        r.failure = { index: i, kind: 'slow', message: `input took ${again.toFixed(1)} ms on each of 3 re-runs (bound ${job.slowMs} ms)`, input: target.show(input) };
        r.inputs = i + 1;
        r.slowestMs = again;
        r.slowestIndex = i;
        break;
      }
      outcome.ms = again;
      r.slowFirstRuns++;
    }
    if (outcome.ms > r.slowestMs) {
      r.slowestMs = outcome.ms;
      r.slowestIndex = i;
    }
    if (outcome.verdict === 'accepted') r.accepted++;
    else {
      r.rejected++;
      if (outcome.verdict === 'allowedThrow') r.allowedThrows++;
    }
    r.inputs = i + 1;
  }
  r.seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await new Promise((resolve) => setImmediate(resolve));
  r.heapAfterBytes = heapAfterGc();
  r.heapPeakBytes = Math.max(r.heapPeakBytes, getHeapStatistics().used_heap_size);
  return r;
}

if (parentPort && workerData) {
  const job = workerData as WorkerJob;
  parentPort.postMessage(await runTarget(job, new Int32Array(job.progress)));
}
