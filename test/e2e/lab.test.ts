// `ironlb lab up|status|down` as a user runs them: the JSON contract, idempotence, the
// controller's own identity, and a clean stop.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { projectRoot } from '../../src/lab/projectRoot.js';

const parent = mkdtempSync(join(tmpdir(), 'ironlb-labtest-'));
const dir = join(parent, 'lab');

function ironlb(args: string[]) {
  const r = spawnSync(process.execPath, [join(projectRoot(), 'bin', 'ironlb.js'), ...args], { encoding: 'utf8', timeout: 240_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function alive(pid: number): boolean {
  try {
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
  } catch {
    return false;
  }
}

describe('ironlb lab', () => {
  afterAll(() => {
    ironlb(['lab', 'down', '--dir', dir]);
    rmSync(parent, { recursive: true, force: true });
  });

  test('up --json, up again, status, down', () => {
    const up = ironlb(['lab', 'up', '--json', '--nodes', '0', '--dir', dir]);
    expect(up.code, up.err).toBe(0);
    const lab = JSON.parse(up.out);
    expect(lab.apiserver).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(existsSync(lab.kubeconfig)).toBe(true);
    expect(existsSync(lab.kubectl)).toBe(true);
    const names = lab.processes.map((p: any) => p.name);
    expect(names).toEqual(['etcd', 'kube-apiserver', 'kube-controller-manager', 'ironlb-controller']);
    expect(lab.processes.every((p: any) => p.running)).toBe(true);

    // The controller authenticates as its ServiceAccount, not as admin.
    const whoami = spawnSync(lab.kubectl, ['--kubeconfig', join(dir, 'controller.kubeconfig'), 'auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username}'], { encoding: 'utf8' });
    expect(whoami.stdout).toBe('system:serviceaccount:metallb-system:controller');
    const canDelete = spawnSync(lab.kubectl, ['--kubeconfig', join(dir, 'controller.kubeconfig'), 'auth', 'can-i', 'delete', 'nodes'], { encoding: 'utf8' });
    expect(canDelete.stdout.trim()).toBe('no');

    const again = ironlb(['lab', 'up', '--json', '--nodes', '0', '--dir', dir]);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.out).processes.map((p: any) => p.pid)).toEqual(lab.processes.map((p: any) => p.pid));
    expect(again.err).toMatch(/already running/);

    const status = ironlb(['lab', 'status', '--dir', dir]);
    expect(status.code).toBe(0);
    expect(status.out.match(/^running/gm)).toHaveLength(4);

    const down = ironlb(['lab', 'down', '--dir', dir]);
    expect(down.code).toBe(0);
    for (const p of lab.processes) expect(alive(p.pid)).toBe(false);
    expect(existsSync(dir)).toBe(false);
  }, 300_000);
});
