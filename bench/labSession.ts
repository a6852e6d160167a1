// A bench's own lab in a temporary directory, always removed: on return, on a throw and on
// SIGINT/SIGTERM (a Ctrl-C during a long bench must not leave namespaces and processes behind).
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { labDown } from '../src/lab/lab.js';

export interface LabSession {
  /** The lab directory to pass to labUp. */
  readonly dir: string;
  /** Run before the lab goes down (e.g. stop a probe process). */
  onTeardown(fn: () => void): void;
}

export async function withBenchLab<T>(name: string, progress: (line: string) => void, body: (session: LabSession) => Promise<T>): Promise<T> {
  const parent = mkdtempSync(join(tmpdir(), `ironlb-bench-${name}-`));
  const dir = join(parent, 'lab');
  const hooks: (() => void)[] = [];
  let tornDown: Promise<void> | undefined;
  const teardown = () => (tornDown ??= (async () => {
    for (const h of hooks) h();
    // IRONLB_BENCH_KEEP_LOGS=<dir>: copy the lab's logs out before they go (IRONLB_BENCH_L2_KEEP_LOGS still works).
    const keep = process.env.IRONLB_BENCH_KEEP_LOGS ?? process.env.IRONLB_BENCH_L2_KEEP_LOGS;
    if (keep) {
      try {
        cpSync(join(dir, 'logs'), keep, { recursive: true });
        progress(`lab logs copied to ${keep}`);
      } catch (e) {
        progress(`copying the lab logs failed: ${(e as Error).message}`);
      }
    }
    await labDown(dir, progress).catch((e: Error) => progress(`lab down: ${e.message}`));
    rmSync(parent, { recursive: true, force: true });
  })());
  const onSignal = (sig: NodeJS.Signals) => {
    progress(`${sig}: tearing the lab down`);
    void teardown().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const started = Date.now();
  try {
    return await body({ dir, onTeardown: (fn) => hooks.push(fn) });
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await teardown();
    progress(`${name} bench took ${((Date.now() - started) / 1000).toFixed(0)} s including lab up and down`);
  }
}
