import { join } from 'node:path';
import { defaultLabDir, kubectl, labDown, labUp, readLabState, summarize } from '../lab/lab.js';
import { projectRoot } from '../lab/projectRoot.js';
import { sleep } from '../lab/processes.js';

const progress = (line: string) => process.stderr.write(`[lab] ${line}\n`);

function fail(e: unknown): never {
  process.stderr.write(`ironlb lab: ${(e as Error).message}\n`);
  process.exit(1);
}

export async function runLabUp(flags: { dir?: string; json?: boolean; controller: boolean }): Promise<void> {
  const dir = flags.dir ?? defaultLabDir();
  try {
    const state = await labUp({ dir, progress, controller: flags.controller });
    if (flags.json) process.stdout.write(`${JSON.stringify(summarize(state), null, 2)}\n`);
    else {
      progress(`lab is up: apiserver ${state.apiserver}`);
      progress(`use: ${state.kubectl} --kubeconfig ${state.kubeconfig} get svc -A`);
    }
  } catch (e) {
    fail(e);
  }
}

export async function runLabDown(flags: { dir?: string }): Promise<void> {
  try {
    await labDown(flags.dir ?? defaultLabDir(), progress);
  } catch (e) {
    fail(e);
  }
}

export async function runLabStatus(flags: { dir?: string; json?: boolean }): Promise<void> {
  const dir = flags.dir ?? defaultLabDir();
  const state = readLabState(dir);
  if (!state) {
    if (flags.json) process.stdout.write('{}\n');
    else progress(`no lab in ${dir}; start one with 'ironlb lab up'`);
    process.exitCode = 1;
    return;
  }
  const s = summarize(state);
  if (flags.json) process.stdout.write(`${JSON.stringify(s, null, 2)}\n`);
  else for (const p of s.processes) process.stdout.write(`${p.running ? 'running' : 'STOPPED'}  ${p.name} (pid ${p.pid})  log ${p.log}\n`);
}

/** `npm start`: the lab plus the Kube-OVN seed scenario, ending with the Service's external IP. */
export async function runLabDemo(flags: { dir?: string }): Promise<void> {
  const dir = flags.dir ?? defaultLabDir();
  try {
    const state = await labUp({ dir, progress });
    const scenario = join(projectRoot(), 'e2e', 'scenarios', 'kube-ovn-seed');
    progress('applying the seed-002 IPAddressPool (10.180.204.250-10.180.204.254) and L2Advertisement');
    process.stderr.write(kubectl(state, ['apply', '-f', join(scenario, 'pool.yaml')]));
    progress('applying the demo Service default/nginx-lb (type LoadBalancer, externalTrafficPolicy Local)');
    process.stderr.write(kubectl(state, ['apply', '-n', 'default', '-f', join(scenario, 'service.yaml')]));
    let ip = '';
    for (let i = 0; i < 120 && !ip; i++) {
      ip = kubectl(state, ['-n', 'default', 'get', 'svc', 'nginx-lb', '-o', 'jsonpath={.status.loadBalancer.ingress[*].ip}']).trim();
      if (!ip) await sleep(250);
    }
    process.stdout.write(kubectl(state, ['-n', 'default', 'get', 'svc', 'nginx-lb', '-o', 'wide']));
    if (!ip) fail(new Error(`the Service got no external IP; see ${join(dir, 'logs', 'controller.log')} and 'kubectl describe svc nginx-lb'`));
    const pool = kubectl(state, ['-n', 'default', 'get', 'svc', 'nginx-lb', '-o', "jsonpath={.metadata.annotations.metallb\\.io/ip-allocated-from-pool}"]).trim();
    process.stdout.write(`\nnginx-lb EXTERNAL-IP ${ip} (from pool ${pool}), assigned by ironlb controller running as ServiceAccount metallb-system/controller\n`);
    process.stdout.write(`the lab keeps running: ${state.kubectl} --kubeconfig ${state.kubeconfig} get svc -A\n`);
    process.stdout.write(`stop it with: node bin/ironlb.js lab down${flags.dir ? ` --dir ${flags.dir}` : ''}\n`);
  } catch (e) {
    fail(e);
  }
}
