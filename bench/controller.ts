// Create-to-ingress latency for 500 Services against the real API server, and the controller's
// memory. Starts its own control plane in a temporary directory and removes it afterwards.
import { CoreV1Api, CustomObjectsApi, Watch } from '@kubernetes/client-node';
import { loadKubeConfig } from '../src/k8s/client.js';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { labDown, labUp, startController } from '../src/lab/lab.js';
import { sleep, stopProcess } from '../src/lab/processes.js';

const SERVICES = Number(process.env.IRONLB_BENCH_SERVICES ?? 500);
const CONCURRENCY = 20;

export function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

export function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

export async function benchController(): Promise<Record<string, number>> {
  const dir = mkdtempSync(join(tmpdir(), 'ironlb-bench-'));
  const progress = (l: string) => process.stderr.write(`[bench lab] ${l}\n`);
  const state = await labUp({ dir, progress, controller: false });
  const ctl = startController(dir, state.controllerKubeconfig, ['--metrics-port', '0', '--log-level', 'warn']);
  try {
    const kc = loadKubeConfig(state.kubeconfig);
    const core = kc.makeApiClient(CoreV1Api);
    const custom = kc.makeApiClient(CustomObjectsApi);
    await custom.createNamespacedCustomObject({
      group: 'metallb.io', version: 'v1beta1', namespace: 'metallb-system', plural: 'ipaddresspools',
      body: { apiVersion: 'metallb.io/v1beta1', kind: 'IPAddressPool', metadata: { name: 'bench' }, spec: { addresses: ['198.51.100.0/24', '203.0.113.0/24', '192.0.2.0/24'] } },
    });
    const ns = 'ironlb-bench';
    await core.createNamespace({ body: { metadata: { name: ns } } });
    await sleep(1000);
    const idleRss = rssMiB(ctl.pid);

    const created = new Map<string, number>();
    const latency = new Map<string, number>();
    let allDone: () => void = () => {};
    const done = new Promise<void>((r) => (allDone = r));
    const watch = await new Watch(kc).watch(`/api/v1/namespaces/${ns}/services`, {}, (_type: string, obj: any) => {
      const name = obj?.metadata?.name as string;
      if (obj?.status?.loadBalancer?.ingress?.length && created.has(name) && !latency.has(name)) {
        latency.set(name, performance.now() - created.get(name)!);
        if (latency.size === SERVICES) allDone();
      }
    }, () => {});

    const t0 = performance.now();
    let next = 0;
    await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
      while (next < SERVICES) {
        const name = `svc-${next++}`;
        created.set(name, performance.now());
        await core.createNamespacedService({ namespace: ns, body: {
          metadata: { name }, spec: { type: 'LoadBalancer', selector: { app: name }, ports: [{ port: 80, protocol: 'TCP' }] },
        } });
      }
    }));
    const createdAll = performance.now() - t0;
    await Promise.race([done, sleep(120_000)]);
    const total = performance.now() - t0;
    watch.abort();
    const sorted = [...latency.values()].sort((a, b) => a - b);
    const peakRss = rssMiB(ctl.pid);
    const r = {
      services: SERVICES,
      assigned: latency.size,
      createToIngressP50Ms: percentile(sorted, 50),
      createToIngressP99Ms: percentile(sorted, 99),
      createToIngressMaxMs: sorted[sorted.length - 1] ?? NaN,
      createAllMs: createdAll,
      allAssignedMs: total,
      controllerRssIdleMiB: idleRss,
      controllerRssAfterMiB: peakRss,
    };
    console.log(`controller: ${r.assigned}/${SERVICES} Services assigned; create-to-ingress p50 ${r.createToIngressP50Ms.toFixed(1)} ms, p99 ${r.createToIngressP99Ms.toFixed(1)} ms, max ${r.createToIngressMaxMs.toFixed(1)} ms`);
    console.log(`controller: all ${SERVICES} created in ${createdAll.toFixed(0)} ms (${CONCURRENCY} concurrent clients), all assigned after ${total.toFixed(0)} ms`);
    console.log(`controller: RSS ${idleRss.toFixed(1)} MiB idle, ${peakRss.toFixed(1)} MiB with ${SERVICES} Services`);
    return r;
  } finally {
    await stopProcess(ctl);
    await labDown(dir, progress);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await benchController();
}
