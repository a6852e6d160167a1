// Starts one real control plane (etcd, kube-apiserver, kube-controller-manager) for all e2e
// test files, with our manifests applied but no controller: each test starts its own.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { labDown, labUp } from '../../src/lab/lab.js';

declare module 'vitest' {
  export interface ProvidedContext {
    lab: { dir: string; kubeconfig: string; kubectl: string; apiserver: string; controllerKubeconfig: string };
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const dir = mkdtempSync(join(tmpdir(), 'ironlb-e2e-'));
  const progress = (l: string) => process.stderr.write(`[e2e lab] ${l}\n`);
  let state: Awaited<ReturnType<typeof labUp>>;
  try {
    state = await labUp({ dir, progress, controller: false });
  } catch (e) {
    // labUp stopped what it started; the directory is ours to remove.
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  project.provide('lab', {
    dir, kubeconfig: state.kubeconfig, kubectl: state.kubectl, apiserver: state.apiserver, controllerKubeconfig: state.controllerKubeconfig,
  });
  return async () => {
    await labDown(dir, progress);
  };
}
