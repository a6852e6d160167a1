// Renders the goal tables of docs/performance.md from bench-results/latest.json (the part between
// the generated markers; the prose around it is kept). `npm run bench` calls it at the end;
// `npm run bench:report` renders again without measuring.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { projectRoot } from '../src/lab/projectRoot.js';
import { FUZZ_GOALS, GOALS, SCALE_GOALS, goalTable, judgeGoals, replaceGenerated, type BenchRun } from './goals.js';
import { machineDescription, readRuns, writeRuns } from './results.js';

export const PERFORMANCE_DOC = join(projectRoot(), 'docs', 'performance.md');

export function renderReport(runs: Readonly<Record<string, BenchRun>>): string {
  const machines = Object.entries(runs).sort(([a], [b]) => a.localeCompare(b))
    .map(([bench, r]) => `- \`${bench}\`: ${r.date}, ${r.machine}`).join('\n');
  return [
    '### Issue 7 §5: the goals',
    '',
    goalTable(judgeGoals(GOALS, runs)),
    '',
    '### Issue 7 §4: beyond one machine',
    '',
    goalTable(judgeGoals(SCALE_GOALS, runs)),
    '',
    '### Issue 7 §2: hostile input',
    '',
    goalTable(judgeGoals(FUZZ_GOALS, runs)),
    '',
    'Measured on (from `bench-results/latest.json`):',
    '',
    machines || '- nothing measured yet',
  ].join('\n');
}

export function writeReport(runs: Readonly<Record<string, BenchRun>>, doc = PERFORMANCE_DOC): void {
  writeFileSync(doc, replaceGenerated(readFileSync(doc, 'utf8'), renderReport(runs)));
}

/** Stores one bench's figures in bench-results/latest.json and renders the report again. */
export function recordRun(bench: string, figures: Record<string, number>, machine = machineDescription(), date = new Date().toISOString()): void {
  const runs = readRuns();
  runs[bench] = { figures, date, machine };
  writeRuns(runs);
  writeReport(runs);
}

// `node dist/bench/report.js`: render again. `node dist/bench/report.js <bench> <figures.json> [note]`:
// record the JSON a bench printed when it was run on its own (the note says how), then render.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [bench, file, note] = process.argv.slice(2);
  if (bench && file) {
    recordRun(bench, JSON.parse(readFileSync(file, 'utf8')) as Record<string, number>, `${machineDescription(false)}; run from dist/bench/${bench}.js${note ? `; ${note}` : ''}`);
    console.log(`recorded ${bench} from ${file}`);
  } else {
    writeReport(readRuns());
  }
  console.log(`wrote ${PERFORMANCE_DOC}`);
}
