// bench-results/latest.json: one entry per bench (its figures, when, on what machine). A run of
// some benches replaces their entries and keeps the others, so the report always shows the
// newest figure of each goal with its date.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { projectRoot } from '../src/lab/projectRoot.js';
import type { BenchRun, Figures } from './goals.js';

export const LATEST = join(projectRoot(), 'bench-results', 'latest.json');

/** CPU, cores, RAM and Node; with the load average when a bench starts here and now. */
export function machineDescription(withLoad = true): string {
  const machine = `${cpus()[0]?.model.trim() ?? 'unknown CPU'}, ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, Node ${process.version}`;
  return withLoad ? `${machine}, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')} at the start` : machine;
}

/** The runs in `path`; also reads the older `{ machine, results }` layout. */
export function readRuns(path = LATEST): Record<string, BenchRun> {
  if (!existsSync(path)) return {};
  const doc = JSON.parse(readFileSync(path, 'utf8')) as {
    runs?: Record<string, BenchRun>;
    machine?: { cpuModel?: string; cores?: number; ramGiB?: number; node?: string; date?: string };
    results?: Record<string, Figures>;
  };
  if (doc.runs) return doc.runs;
  const m = doc.machine ?? {};
  const machine = `${m.cpuModel ?? 'unknown CPU'}, ${m.cores ?? '?'} cores, ${m.ramGiB ?? '?'} GiB RAM, Node ${m.node ?? '?'}`;
  return Object.fromEntries(Object.entries(doc.results ?? {}).map(([bench, figures]) => [bench, { figures, date: m.date ?? 'unknown', machine }]));
}

export function writeRuns(runs: Record<string, BenchRun>, path = LATEST): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify({ runs }, null, 2)}\n`);
}

/**
 * A run of only some parts of a bench (figures named `part.figure`) replaces those parts and keeps
 * the earlier run's figures of the other parts; the machine text says which parts are from when.
 */
export function mergePartialRun(previous: BenchRun | undefined, partsRun: readonly string[], now: BenchRun): BenchRun {
  if (!previous) return now;
  const kept = Object.fromEntries(Object.entries(previous.figures).filter(([key]) => !partsRun.includes(key.split('.')[0] ?? '')));
  if (Object.keys(kept).length === 0) return now;
  const keptParts = [...new Set(Object.keys(kept).map((key) => key.split('.')[0]))].join(', ');
  return {
    figures: { ...kept, ...now.figures },
    date: now.date,
    machine: `${now.machine}; parts ${partsRun.join(', ')} from this run, parts ${keptParts} from the run of ${previous.date} (${previous.machine})`,
  };
}
