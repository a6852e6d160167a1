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
