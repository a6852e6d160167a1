// The performance report's verdicts come from the figures, and a missing figure is never judged.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FUZZ_GOALS, GENERATED_BEGIN, GENERATED_END, GOALS, SCALE_GOALS, goalTable, judgeGoals, replaceGenerated, type BenchRun, type Figures } from '../../bench/goals.js';
import { targetNames } from '../../bench/fuzz/index.js';
import { renderReport } from '../../bench/report.js';
import { mergePartialRun, readRuns } from '../../bench/results.js';

const run = (figures: Figures): BenchRun => ({ figures, date: '2026-11-22T05:00:00.000Z', machine: 'test machine' });
const failover = (p99: number, failed = 0): Figures => ({
  'failover.neighbourP50Ms': 600, 'failover.neighbourP99Ms': p99, 'failover.httpP50Ms': 610, 'failover.httpP99Ms': p99 + 10, 'failover.rounds': 20, 'failover.failed': failed,
});
const row = (runs: Record<string, BenchRun>, goal: string) => {
  const r = judgeGoals(GOALS, runs).find((x) => x.goal.startsWith(goal));
  if (!r) throw new Error(`no goal ${goal}`);
  return r;
};

describe('judgeGoals', () => {
  it('says "not measured" and how to measure when a bench has not run', () => {
    const rows = judgeGoals(GOALS, {});
    expect(rows.length).toBe(GOALS.length);
    for (const r of rows) {
      expect(r.verdict).toBe('not measured');
      expect(r.measured).toMatch(/npm run bench -- \w+/);
    }
  });

  it('judges failover by the worse of the two p99s and by failed rounds', () => {
    expect(row({ layer2: run(failover(727)) }, 'Layer-2 failover').verdict).toBe('yes');
    expect(row({ layer2: run(failover(1495)) }, 'Layer-2 failover').verdict).toBe('no'); // HTTP p99 1505
    expect(row({ layer2: run(failover(700, 1)) }, 'Layer-2 failover').verdict).toBe('no');
    expect(row({ layer2: run(failover(727)) }, 'Layer-2 failover').measured).toContain('p99 737 ms');
  });

  it('never judges a NaN figure', () => {
    expect(row({ layer2: run(failover(Number.NaN)) }, 'Layer-2 failover').verdict).toBe('not measured');
  });

  it('says "partly" when latency is met but the API server did not take the target rate', () => {
    const paced = (p99: number, achieved: number): Figures => ({
      'paced.createToIpP50Ms': 100, 'paced.createToIpP99Ms': p99, 'paced.services': 1000, 'paced.assigned': 1000, 'paced.targetRatePerS': 100, 'paced.achievedRatePerS': achieved,
    });
    expect(row({ controller: run(paced(400, 99)) }, 'Create-to-IP p99 ≤ 500').verdict).toBe('yes');
    expect(row({ controller: run(paced(400, 60)) }, 'Create-to-IP p99 ≤ 500').verdict).toBe('partly');
    expect(row({ controller: run(paced(1140, 99)) }, 'Create-to-IP p99 ≤ 500').verdict).toBe('no');
  });

  it('the 10,000-Service spread is met only when all 10,000 were created and announced', () => {
    const spread = (created: number, allAnnounced: number): Figures => ({
      'spread.services': 10000, 'spread.created': created, 'spread.announced': created, 'spread.announcedBySeveral': 0, 'spread.allAnnounced': allAnnounced,
      'spread.allAnnouncedS': 900, 'spread.createRatePerS': 6.5, 'spread.minPerSpeaker': 3000, 'spread.maxPerSpeaker': 3500, 'spread.speakerRssPeakMaxMiB': 300, 'spread.curlOk': 1,
    });
    expect(row({ layer2: run(spread(10000, 1)) }, '10,000 Services').verdict).toBe('yes');
    const short = row({ layer2: run(spread(6200, 1)) }, '10,000 Services');
    expect(short.verdict).toBe('no');
    expect(short.measured).toContain('6200 of 10000 IPv6 Services created by the deadline');
    expect(row({ layer2: run(spread(10000, 0)) }, '10,000 Services').verdict).toBe('no');
  });

  it('calls the scale goals partly done below their sizes', () => {
    const scale: Figures = {
      services: 10_000, assigned: 10_000, createRatePerS: 26, createAllS: 378, allAssignedS: 434, createToIpP50Ms: 1, createToIpP99Ms: 2,
      controllerRssPeakMiB: 300, controllerRssAfterMiB: 280, restartFirstPassS: 3.4, restartServiceWrites: 0,
    };
    const judge = (f: Figures) => judgeGoals(SCALE_GOALS, { controllerScale: run(f) }).find((r) => r.goal.startsWith('Controller'))!.verdict;
    expect(judge(scale)).toBe('partly');
    expect(judge({ ...scale, services: 50_000, assigned: 50_000 })).toBe('yes');
    expect(judge({ ...scale, services: 50_000, assigned: 49_000, allAssignedS: Number.NaN })).toBe('partly');
    expect(judge({ ...scale, services: 50_000, assigned: 50_000, restartServiceWrites: 3 })).toBe('no');
  });
});

describe('the fuzz row', () => {
  const names = targetNames();
  const figures = (inputs: number, okFor: (t: string) => boolean): Figures => Object.fromEntries(names.flatMap((t) => [
    [`${t} inputs`, inputs], [`${t} ok`, okFor(t) ? 1 : 0], [`${t} slowest ms`, 5], [`${t} heap growth MiB`, 1],
  ]));
  const verdict = (f: Figures) => judgeGoals(FUZZ_GOALS, { fuzz: run(f) })[0]!;
  it('holds only when every decoder took a million inputs without a failure', () => {
    expect(verdict(figures(1_000_000, () => true)).verdict).toBe('yes');
    expect(verdict(figures(999_999, () => true)).verdict).toBe('no');
    const broken = verdict(figures(1_000_000, (t) => t !== names[0]));
    expect(broken.verdict).toBe('no');
    expect(broken.measured).toContain(`FAILED: ${names[0]}`);
  });
  it('is not judged from a run that fuzzed only some decoders', () => {
    const some = Object.fromEntries(Object.entries(figures(1_000_000, () => true)).filter(([k]) => k.startsWith(`${names[0]} `)));
    expect(verdict(some).verdict).toBe('no');
  });
});

describe('the rendered report', () => {
  it('marks misses in bold and escapes table pipes', () => {
    const table = goalTable([{ goal: 'a | b', measured: 'm', verdict: 'no', source: 's' }]);
    expect(table).toContain('| a \\| b | m | **no** | s |');
  });

  it('keeps the prose around the generated block and replaces only the block', () => {
    const doc = `# Report\n\nintro\n\n${GENERATED_BEGIN}\nold table\n${GENERATED_END}\n\n## Why\nprose\n`;
    const out = replaceGenerated(doc, 'new table');
    expect(out).toBe(`# Report\n\nintro\n\n${GENERATED_BEGIN}\nnew table\n${GENERATED_END}\n\n## Why\nprose\n`);
    expect(replaceGenerated('# Only prose\n', 'x')).toBe(`# Only prose\n\n${GENERATED_BEGIN}\nx\n${GENERATED_END}\n`);
  });

  it('lists every bench it used with its date and machine', () => {
    const text = renderReport({ layer2: run(failover(727)) });
    expect(text).toContain('- `layer2`: 2026-11-22T05:00:00.000Z, test machine');
    expect(text).toContain('`bench/layer2.ts` (2026-11-22)');
  });
});

describe('bench-results/latest.json', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ironlb-report-test-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads the older { machine, results } layout as one run per bench', () => {
    const path = join(dir, 'old.json');
    writeFileSync(path, JSON.stringify({ machine: { cpuModel: 'AMD EPYC', cores: 2, ramGiB: 23.5, node: 'v20.20.2', date: '2026-11-22T02:34:27.666Z' }, results: { controllerScale: { services: 10000 } } }));
    const runs = readRuns(path);
    expect(Object.keys(runs)).toEqual(['controllerScale']);
    expect(runs.controllerScale).toEqual({ figures: { services: 10000 }, date: '2026-11-22T02:34:27.666Z', machine: 'AMD EPYC, 2 cores, 23.5 GiB RAM, Node v20.20.2' });
  });

  it('is empty when there is no file yet', () => {
    expect(readRuns(join(dir, 'missing.json'))).toEqual({});
  });
});

describe('mergePartialRun', () => {
  const before: BenchRun = { figures: { 'failover.p99': 734, 'spread.announced': 1000, 'rss.idle': 120 }, date: '2026-11-21T00:00:00Z', machine: 'm1' };
  const now: BenchRun = { figures: { 'spread.announced': 10000, 'spread.allAnnouncedS': 300 }, date: '2026-11-22T00:00:00Z', machine: 'm2' };

  it('replaces the parts that ran and keeps the others, saying which is from when', () => {
    const merged = mergePartialRun(before, ['spread'], now);
    expect(merged.figures).toEqual({ 'failover.p99': 734, 'rss.idle': 120, 'spread.announced': 10000, 'spread.allAnnouncedS': 300 });
    expect(merged.date).toBe(now.date);
    expect(merged.machine).toContain('parts spread from this run');
    expect(merged.machine).toContain('parts failover, rss from the run of 2026-11-21T00:00:00Z (m1)');
  });

  it('is the new run when nothing earlier is kept', () => {
    expect(mergePartialRun(undefined, ['spread'], now)).toBe(now);
    expect(mergePartialRun({ ...before, figures: { 'spread.announced': 1 } }, ['spread'], now)).toBe(now);
  });
});
