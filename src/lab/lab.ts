// `ironlb lab up|down|status`: the control plane, our manifests, and `ironlb controller`
// running as its own ServiceAccount (not admin), so RBAC mistakes show up in the lab.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { kubeconfigYaml, removeDir, startControlPlane, stopProcesses, waitForApiserver, type Progress } from './controlPlane.js';
import { isRunning, sleep, startDetached, stopProcess, tailOfLog, type TrackedProcess } from './processes.js';
import { projectRoot } from './projectRoot.js';

export const METALLB_NAMESPACE = 'metallb-system';

export interface LabState {
  readonly dir: string;
  readonly apiserver: string;
  readonly kubeconfig: string;
  readonly kubectl: string;
  readonly caFile: string;
  readonly controllerKubeconfig: string;
  readonly processes: TrackedProcess[];
  readonly startedAt: string;
}

/** What `lab up --json` prints (architecture.md contract; fields may be added). */
export interface LabSummary {
  kubeconfig: string;
  kubectl: string;
  apiserver: string;
  dir: string;
  processes: { name: string; pid: number; running: boolean; log: string }[];
}

export function defaultLabDir(): string {
  return resolve(process.env.IRONLB_LAB_DIR ?? join(projectRoot(), '.lab'));
}

function statePath(dir: string): string {
  return join(dir, 'state.json');
}

export function readLabState(dir: string): LabState | undefined {
  const p = statePath(dir);
  if (!existsSync(p)) return undefined;
  return JSON.parse(readFileSync(p, 'utf8')) as LabState;
}

export function summarize(state: LabState): LabSummary {
  return {
    kubeconfig: state.kubeconfig,
    kubectl: state.kubectl,
    apiserver: state.apiserver,
    dir: state.dir,
    processes: state.processes.map((p) => ({ name: p.name, pid: p.pid, running: isRunning(p), log: p.log })),
  };
}

export interface LabUpOptions {
  dir: string;
  progress: Progress;
  /** Start `ironlb controller` (default true). Tests that drive their own controller turn it off. */
  controller?: boolean;
  controllerArgs?: string[];
}

export async function labUp(opts: LabUpOptions): Promise<LabState> {
  const { dir, progress } = opts;
  const existing = readLabState(dir);
  if (existing) {
    if (existing.processes.every(isRunning)) {
      progress(`lab already running in ${dir}`);
      return existing;
    }
    progress(`lab in ${dir} is partly stopped; restarting it`);
    await labDown(dir, progress);
  }
  mkdirSync(dir, { recursive: true });
  const cp = await startControlPlane(dir, progress);
  const processes = [...cp.processes];
  const base: Omit<LabState, 'controllerKubeconfig' | 'processes'> = {
    dir, apiserver: cp.apiserver, kubeconfig: cp.kubeconfig, kubectl: cp.kubectl, caFile: cp.caFile,
    startedAt: new Date().toISOString(),
  };
  const save = (controllerKubeconfig: string) => {
    const state: LabState = { ...base, controllerKubeconfig, processes };
    writeFileSync(statePath(dir), JSON.stringify(state, null, 2));
    return state;
  };
  save('');
  try {
    progress('applying manifests: namespace, CRDs, RBAC');
    applyManifests(base);
    const controllerKubeconfig = join(dir, 'controller.kubeconfig');
    const token = kubectl(base, ['-n', METALLB_NAMESPACE, 'create', 'token', 'controller', '--duration=8760h']).trim();
    writeFileSync(controllerKubeconfig, kubeconfigYaml(cp.apiserver, cp.caFile, 'system:serviceaccount:metallb-system:controller', token), { mode: 0o600 });
    if (opts.controller !== false) {
      progress('starting ironlb controller as ServiceAccount metallb-system/controller');
      const ctl = startController(dir, controllerKubeconfig, opts.controllerArgs ?? []);
      processes.push(ctl);
      await sleep(500);
      if (!isRunning(ctl)) throw new Error(`ironlb controller exited at once:\n${tailOfLog(ctl.log)}`);
    }
    return save(controllerKubeconfig);
  } catch (e) {
    await labDown(dir, progress);
    throw e;
  }
}

export function startController(dir: string, kubeconfig: string, extraArgs: string[]): TrackedProcess {
  const bin = join(projectRoot(), 'bin', 'ironlb.js');
  return startDetached('ironlb-controller', process.execPath, [bin, 'controller', '--kubeconfig', kubeconfig, ...extraArgs], join(dir, 'logs', 'controller.log'));
}

/**
 * Kills one lab process (SIGKILL, like a crash) and starts it again with the same arguments;
 * for the API server, waits until it is ready. Tests use it to prove reconnects.
 */
export async function restartLabProcess(dir: string, name: string, downtimeMs = 0): Promise<void> {
  const state = readLabState(dir);
  const old = state?.processes.find((p) => p.name === name);
  if (!state || !old) throw new Error(`no lab process named ${name} in ${dir}`);
  await stopProcess(old, 0);
  if (downtimeMs) await sleep(downtimeMs);
  const fresh = startDetached(old.name, old.command, [...old.args], old.log);
  const next: LabState = { ...state, processes: state.processes.map((p) => (p === old ? fresh : p)) };
  writeFileSync(statePath(dir), JSON.stringify(next, null, 2));
  if (name === 'kube-apiserver') {
    const token = readFileSync(join(dir, 'tokens.csv'), 'utf8').split(',')[0] ?? '';
    await waitForApiserver(fresh, state.apiserver, state.caFile, token);
  }
}

export async function labDown(dir: string, progress: Progress): Promise<void> {
  const state = readLabState(dir);
  if (state) {
    progress(`stopping ${state.processes.length} lab processes`);
    await stopProcesses(state.processes);
  }
  if (existsSync(dir)) {
    progress(`removing ${dir}`);
    removeDir(dir);
  }
}

export function applyManifests(state: Pick<LabState, 'kubectl' | 'kubeconfig'>): void {
  const m = join(projectRoot(), 'manifests');
  kubectl(state, ['apply', '--server-side', '--force-conflicts', '-f', join(m, 'namespace.yaml')]);
  kubectl(state, ['apply', '--server-side', '--force-conflicts', '-f', join(m, 'crds')]);
  kubectl(state, ['wait', '--for=condition=Established', '--timeout=60s', '-f', join(m, 'crds')]);
  kubectl(state, ['apply', '--server-side', '--force-conflicts', '-f', join(m, 'rbac.yaml')]);
}

/** Runs the lab's kubectl as admin; throws with kubectl's own message on failure. */
export function kubectl(state: Pick<LabState, 'kubectl' | 'kubeconfig'>, args: string[], input?: string): string {
  const res = spawnSync(state.kubectl, ['--kubeconfig', state.kubeconfig, ...args], { input, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (res.status !== 0) throw new Error(`kubectl ${args.join(' ')} failed: ${(res.stderr || res.stdout).trim()}`);
  return res.stdout;
}
