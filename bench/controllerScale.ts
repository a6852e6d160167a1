// The controller under Cilium's scale-test load: N LoadBalancer Services (default 50,000)
// created by concurrent clients against the real API server of a lab control plane, then a
// controller restart with all of them in place. Figures: sustained create rate, create-to-IP
// p50/p99, time until every Service has an IP, controller RSS (idle / peak / after) and CPU
// seconds, API-server RSS, etcd size, time to the first full pass after a restart and the
// Service writes that restart made (must be 0).
// allocateLoadBalancerNodePorts is off: the NodePort range (30000-32767) holds 2,768 ports.
// Run alone: `IRONLB_SCALE_SERVICES=50000 npm run bench -- controllerScale` (records into bench-results/latest.json).
import { CoreV1Api, CustomObjectsApi, Watch } from '@kubernetes/client-node';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadKubeConfig } from '../src/k8s/client.js';
import { labDown, labUp, startController } from '../src/lab/lab.js';
import { sleep, stopProcess, type TrackedProcess } from '../src/lab/processes.js';
import { withRetries } from './apiRetry.js';
import { percentile, rssMiB } from './controller.js';

const SERVICES = Number(process.env.IRONLB_SCALE_SERVICES ?? 50_000);
const CLIENTS = Number(process.env.IRONLB_SCALE_CLIENTS ?? 16);
/** Give up waiting for IPs after this long (the issue's budget for the whole run is ~20 min). */
const ASSIGN_DEADLINE_MS = Number(process.env.IRONLB_SCALE_DEADLINE_MS ?? 15 * 60_000);
// One Service in IPV4_EVERY is IPv4 (3 x /24 = 762 usable addresses); the rest are IPv6 from a
// /112 (65,536): the allowed documentation blocks hold nothing near 50,000 IPv4 addresses.
const IPV4_EVERY = 100;
const POOL = ['192.0.2.0/24', '198.51.100.0/24', '203.0.113.0/24', '2001:db8:5ca1::/112'];
const CLOCK_TICKS = 100; // USER_HZ on Linux

function cpuSeconds(pid: number): number {
  // Fields after the parenthesised command: utime and stime are the 12th and 13th.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

function fileMiB(path: string): number {
  try {
    return statSync(path).size / 2 ** 20;
  } catch {
    return Number.NaN;
  }
}

function round(v: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

/** Resolves when `needle` appears in `log` after byte `from`; NaN after `timeoutMs`. */
async function waitForLogLine(log: string, from: number, needle: string, timeoutMs: number): Promise<number> {
  const t0 = performance.now();
  while (performance.now() - t0 < timeoutMs) {
    const text = readFileSync(log).subarray(from).toString('utf8');
    if (text.includes(needle)) return performance.now() - t0;
    await sleep(100);
  }
  return Number.NaN;
}

export async function benchControllerScale(): Promise<Record<string, number>> {
  const dir = mkdtempSync(join(tmpdir(), 'ironlb-bench-scale-'));
  const progress = (l: string) => process.stderr.write(`[scale lab] ${l}\n`);
  const state = await labUp({ dir, progress, controller: false });
  const apiserver = state.processes.find((p) => p.name === 'kube-apiserver');
  const etcdDb = join(dir, 'etcd', 'member', 'snap', 'db');
  const log = join(dir, 'logs', 'controller.log');
  let ctl: TrackedProcess = startController(dir, state.controllerKubeconfig, ['--metrics-port', '0', '--log-level', 'warn']);
  try {
    const kc = loadKubeConfig(state.kubeconfig);
    const core = kc.makeApiClient(CoreV1Api);
    const custom = kc.makeApiClient(CustomObjectsApi);
    await custom.createNamespacedCustomObject({
      group: 'metallb.io', version: 'v1beta1', namespace: 'metallb-system', plural: 'ipaddresspools',
      body: { apiVersion: 'metallb.io/v1beta1', kind: 'IPAddressPool', metadata: { name: 'scale' }, spec: { addresses: POOL } },
    });
    const ns = `ironlb-scale-${process.pid}`;
    await core.createNamespace({ body: { metadata: { name: ns } } });
    await sleep(2000);
    const idleRss = rssMiB(ctl.pid);

    const created = new Map<string, number>();
    const latency: number[] = [];
    const assigned = new Set<string>();
    let allDone: () => void = () => {};
    const done = new Promise<void>((r) => (allDone = r));
    // The API server may close a long watch (a slow consumer, its timeout); the bench watches again
    // from the last resource version it saw, and after a 410 re-lists, so no Service is missed.
    // IPs found by a re-list have no latency sample: they are counted in assignedWithoutSample.
    let lastRv: string | undefined;
    let watchRestarts = 0;
    let assignedWithoutSample = 0;
    let watching = true;
    // A watch from an expired resource version is answered with an ERROR event (410 Gone) and then
    // closed; the next watch must start from a fresh list, not from the same expired version.
    let expired = false;
    const seen = (obj: any, sample: boolean) => {
      const name = obj?.metadata?.name as string;
      const at = created.get(name);
      if (obj?.status?.loadBalancer?.ingress?.length && at !== undefined && !assigned.has(name)) {
        assigned.add(name);
        if (sample) latency.push(performance.now() - at);
        else assignedWithoutSample++;
        if (assigned.size === SERVICES) allDone();
      }
    };
    const relist = async () => {
      let cont: string | undefined;
      do {
        const page = await core.listNamespacedService({ namespace: ns, limit: 5000, _continue: cont });
        for (const svc of page.items) seen(svc, false);
        cont = page.metadata?._continue;
        lastRv = page.metadata?.resourceVersion ?? lastRv;
      } while (cont);
    };
    let watch: { abort: () => void } = { abort: () => {} };
    const startWatch = async (): Promise<void> => {
      watch = await new Watch(kc).watch(`/api/v1/namespaces/${ns}/services`, lastRv ? { resourceVersion: lastRv, allowWatchBookmarks: true } : { allowWatchBookmarks: true }, (type: string, obj: any) => {
        if (type === 'ERROR') {
          if (obj?.code === 410) expired = true;
          return;
        }
        lastRv = obj?.metadata?.resourceVersion ?? lastRv;
        seen(obj, true);
      }, (err) => {
        if (!watching) return;
        watchRestarts++;
        const gone = expired || String(err ?? '').includes('410') || String(err ?? '').includes('Gone');
        expired = false;
        progress(`the Service watch ended${err ? ` (${String(err)})` : ''}; ${gone ? 're-listing, then watching' : `watching again from resourceVersion ${lastRv}`}`);
        // A short pause so a watch the server refuses at once cannot spin.
        void sleep(1_000).then(() => (gone ? relist() : undefined)).then(startWatch).catch((e) => progress(`re-watch failed: ${String(e)}`));
      });
    };
    await startWatch();

    let peakRss = idleRss;
    let peakApiRss = apiserver ? rssMiB(apiserver.pid) : Number.NaN;
    const sampler = setInterval(() => {
      try {
        peakRss = Math.max(peakRss, rssMiB(ctl.pid));
        if (apiserver) peakApiRss = Math.max(peakApiRss, rssMiB(apiserver.pid));
      } catch { /* process gone between samples */ }
    }, 500);
    const ticker = setInterval(() => progress(`${created.size} created, ${assigned.size} with an IP, controller RSS ${rssMiB(ctl.pid).toFixed(0)} MiB`), 15_000);

    const cpu0 = cpuSeconds(ctl.pid);
    const t0 = performance.now();
    let next = 0;
    let createErrors = 0;
    await Promise.all(Array.from({ length: CLIENTS }, async () => {
      while (next < SERVICES) {
        const i = next++;
        const name = `svc-${i}`;
        const family = i % IPV4_EVERY === 0 ? 'IPv4' : 'IPv6';
        await withRetries(() => {
          created.set(name, performance.now());
          return core.createNamespacedService({ namespace: ns, body: {
            metadata: { name }, spec: { type: 'LoadBalancer', allocateLoadBalancerNodePorts: false, ipFamilyPolicy: 'SingleStack', ipFamilies: [family], ports: [{ port: 80, protocol: 'TCP' }] },
          } });
        }, () => createErrors++);
      }
    }));
    const createAllMs = performance.now() - t0;
    progress(`all ${SERVICES} created in ${(createAllMs / 1000).toFixed(1)} s; waiting for IPs`);
    // Should the watch stall without ending, a list every 30 s still sees the last IPs (the time to
    // the last IP is then up to 30 s late; assignedWithoutSample > 0 shows it happened).
    const fallbackList = setInterval(() => void relist().catch(() => {}), 30_000);
    await Promise.race([done, sleep(Math.max(0, ASSIGN_DEADLINE_MS - createAllMs))]);
    clearInterval(fallbackList);
    const allAssignedMs = performance.now() - t0;
    const cpuRun = cpuSeconds(ctl.pid) - cpu0;
    watching = false;
    watch.abort();
    // A final list: every Service with an IP counts, also one whose event the watch missed.
    await relist();
    clearInterval(ticker);
    await sleep(10_000);
    const afterRss = rssMiB(ctl.pid);
    const apiRss = apiserver ? rssMiB(apiserver.pid) : Number.NaN;
    clearInterval(sampler);
    latency.sort((a, b) => a - b);

    // Restart with every Service in place: time to the first full pass, and no Service writes.
    await stopProcess(ctl);
    const list = await core.listNamespacedService({ namespace: ns, limit: 1 });
    const rv = list.metadata?.resourceVersion;
    let restartWrites = 0;
    const restartWatch = await new Watch(kc).watch(`/api/v1/namespaces/${ns}/services`, { resourceVersion: rv }, (type: string) => {
      if (type !== 'BOOKMARK') restartWrites++;
    }, () => {});
    const logFrom = statSync(log).size;
    ctl = startController(dir, state.controllerKubeconfig, ['--metrics-port', '0', '--log-level', 'info']);
    const cpuRestart0 = cpuSeconds(ctl.pid);
    const firstPassMs = await waitForLogLine(log, logFrom, 'initial full pass done', 10 * 60_000);
    const cpuRestart = cpuSeconds(ctl.pid) - cpuRestart0;
    const restartRss = rssMiB(ctl.pid);
    await sleep(5_000);
    restartWatch.abort();

    const r = {
      services: SERVICES,
      clients: CLIENTS,
      assigned: assigned.size,
      assignedWithoutSample,
      watchRestarts,
      createErrors,
      createRatePerS: round(SERVICES / (createAllMs / 1000)),
      createAllS: round(createAllMs / 1000),
      allAssignedS: assigned.size === SERVICES ? round(allAssignedMs / 1000) : Number.NaN,
      createToIpP50Ms: round(percentile(latency, 50)),
      createToIpP99Ms: round(percentile(latency, 99)),
      createToIpMaxMs: round(latency[latency.length - 1] ?? Number.NaN),
      controllerRssIdleMiB: round(idleRss),
      controllerRssPeakMiB: round(peakRss),
      controllerRssAfterMiB: round(afterRss),
      controllerCpuS: round(cpuRun),
      apiserverRssMiB: round(apiRss),
      apiserverRssPeakMiB: round(peakApiRss),
      etcdDbMiB: round(fileMiB(etcdDb)),
      restartFirstPassS: round(firstPassMs / 1000, 2),
      restartCpuS: round(cpuRestart),
      restartRssMiB: round(restartRss),
      restartServiceWrites: restartWrites,
    };
    console.log(`controller at scale: ${r.assigned}/${SERVICES} Services with an IP; created at ${r.createRatePerS}/s by ${CLIENTS} clients (${r.createAllS} s, ${createErrors} retried errors); all assigned after ${r.allAssignedS} s`);
    console.log(`controller at scale: create-to-IP p50 ${r.createToIpP50Ms} ms, p99 ${r.createToIpP99Ms} ms, max ${r.createToIpMaxMs} ms`);
    console.log(`controller at scale: RSS idle ${r.controllerRssIdleMiB} MiB, peak ${r.controllerRssPeakMiB} MiB, after ${r.controllerRssAfterMiB} MiB; CPU ${r.controllerCpuS} s; API server RSS ${r.apiserverRssMiB} MiB (peak ${r.apiserverRssPeakMiB}); etcd db ${r.etcdDbMiB} MiB`);
    console.log(`controller at scale: restart with ${SERVICES} Services: first full pass after ${r.restartFirstPassS} s (${r.restartCpuS} CPU s, RSS ${r.restartRssMiB} MiB), Service writes ${r.restartServiceWrites}`);
    return r;
  } finally {
    await stopProcess(ctl);
    await labDown(dir, progress);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const r = await benchControllerScale();
  console.log(JSON.stringify(r, null, 2));
}
