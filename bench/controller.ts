// Create-to-IP against the real API server of a lab control plane (its own, in a temporary
// directory, removed afterwards), for the two goals of issue 7 §5:
// 1. idle: one Service at a time (IRONLB_BENCH_IDLE_SERVICES, 50), 200 ms apart;
// 2. paced: creates started on a fixed schedule of IRONLB_BENCH_RATE per second (100) whatever
//    the API server's answer time (open loop, at most 256 requests in flight), for
//    IRONLB_BENCH_SERVICES Services (1,000); the achieved rate is reported beside the latency,
//    because the lab's API server on a small machine may not take 100 creates/s.
// Latency runs from the create request's start to the first watch event showing an ingress IP.
// Also the controller's RSS before and after. Nothing here asserts a timing.
import { CoreV1Api, CustomObjectsApi, Watch } from '@kubernetes/client-node';
import { loadKubeConfig } from '../src/k8s/client.js';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { httpsGet } from '../src/lab/controlPlane.js';
import { labDown, labUp, startController } from '../src/lab/lab.js';
import { sleep, stopProcess } from '../src/lab/processes.js';

const IDLE_SERVICES = Number(process.env.IRONLB_BENCH_IDLE_SERVICES ?? 50);
const PACED_SERVICES = Number(process.env.IRONLB_BENCH_SERVICES ?? 1000);
const RATE_PER_S = Number(process.env.IRONLB_BENCH_RATE ?? 100);
const MAX_IN_FLIGHT = 256;

export function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

export function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

const round1 = (v: number) => Math.round(v * 10) / 10;

/** apiserver_request_total summed by "VERB resource[/subresource]" for the writes to Services and Events. */
async function serviceWrites(apiserver: string, caFile: string, token: string): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const line of (await httpsGet(`${apiserver}/metrics`, caFile, token)).split('\n')) {
    if (!line.startsWith('apiserver_request_total{')) continue;
    const label = (k: string) => new RegExp(`${k}="([^"]*)"`).exec(line)?.[1] ?? '';
    const verb = label('verb');
    const resource = label('resource');
    if (!['POST', 'PATCH', 'PUT'].includes(verb) || !['services', 'events'].includes(resource)) continue;
    const key = `${verb} ${resource}${label('subresource') ? `/${label('subresource')}` : ''}`;
    counts.set(key, (counts.get(key) ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1)));
  }
  return counts;
}

/** Start times of creates and the time each Service first showed an IP, from one Service watch. */
class IngressClock {
  readonly started = new Map<string, number>();
  readonly latency = new Map<string, number>();
  private waiters: { names: Set<string>; resolve: () => void }[] = [];

  seen(name: string, hasIngress: boolean): void {
    const at = this.started.get(name);
    if (!hasIngress || at === undefined || this.latency.has(name)) return;
    this.latency.set(name, performance.now() - at);
    for (const w of this.waiters) {
      w.names.delete(name);
      if (w.names.size === 0) w.resolve();
    }
    this.waiters = this.waiters.filter((w) => w.names.size > 0);
  }

  /** Resolves when every name has an IP, or after timeoutMs (whichever first). */
  async all(names: string[], timeoutMs: number): Promise<void> {
    const missing = new Set(names.filter((n) => !this.latency.has(n)));
    if (missing.size === 0) return;
    await Promise.race([new Promise<void>((resolve) => this.waiters.push({ names: missing, resolve })), sleep(timeoutMs)]);
  }

  summary(names: string[]): { assigned: number; p50: number; p99: number; max: number } {
    const values = names.flatMap((n) => (this.latency.has(n) ? [this.latency.get(n)!] : [])).sort((a, b) => a - b);
    return { assigned: values.length, p50: round1(percentile(values, 50)), p99: round1(percentile(values, 99)), max: round1(values[values.length - 1] ?? NaN) };
  }
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
      body: { apiVersion: 'metallb.io/v1beta1', kind: 'IPAddressPool', metadata: { name: 'bench' }, spec: { addresses: ['198.51.100.0/24', '203.0.113.0/24', '192.0.2.0/24', '2001:db8:be:4c::/112'] } },
    });
    const ns = 'ironlb-bench';
    await core.createNamespace({ body: { metadata: { name: ns } } });
    await sleep(1000);
    const idleRss = rssMiB(ctl.pid);

    const clock = new IngressClock();
    const watch = await new Watch(kc).watch(`/api/v1/namespaces/${ns}/services`, {}, (_type: string, obj: any) => {
      clock.seen(obj?.metadata?.name as string, Boolean(obj?.status?.loadBalancer?.ingress?.length));
    }, () => {});
    // The paced part needs more than the 762 IPv4 addresses of the allowed blocks: IPv6 from a /112.
    const create = async (name: string, family: 'IPv4' | 'IPv6') => {
      clock.started.set(name, performance.now());
      await core.createNamespacedService({ namespace: ns, body: {
        metadata: { name },
        spec: { type: 'LoadBalancer', allocateLoadBalancerNodePorts: false, ipFamilyPolicy: 'SingleStack', ipFamilies: [family], selector: { app: name }, ports: [{ port: 80, protocol: 'TCP' }] },
      } });
    };

    // 1. Idle: one at a time.
    const idleNames = Array.from({ length: IDLE_SERVICES }, (_, i) => `idle-${i}`);
    for (const name of idleNames) {
      await create(name, 'IPv4');
      await clock.all([name], 10_000);
      await sleep(200);
    }
    const idle = clock.summary(idleNames);
    console.log(`controller idle: ${idle.assigned}/${IDLE_SERVICES} Services, one at a time; create-to-IP p50 ${idle.p50} ms, p99 ${idle.p99} ms, max ${idle.max} ms`);

    // 2. Paced: open loop at RATE_PER_S.
    const token = readFileSync(join(dir, 'tokens.csv'), 'utf8').split(',')[0] ?? '';
    const writesBefore = await serviceWrites(state.apiserver, state.caFile, token);
    const pacedNames = Array.from({ length: PACED_SERVICES }, (_, i) => `paced-${i}`);
    const inFlight = new Set<Promise<void>>();
    let createErrors = 0;
    let lateStarts = 0;
    const t0 = performance.now();
    for (let i = 0; i < PACED_SERVICES; i++) {
      const due = t0 + (i * 1000) / RATE_PER_S;
      const wait = due - performance.now();
      if (wait > 1) await sleep(wait);
      else if (wait < -50) lateStarts++; // the schedule slipped: in-flight cap reached or the event loop was busy
      while (inFlight.size >= MAX_IN_FLIGHT) await Promise.race(inFlight);
      const p: Promise<void> = create(pacedNames[i]!, i % 10 === 0 ? 'IPv4' : 'IPv6')
        .catch(() => { createErrors++; })
        .finally(() => inFlight.delete(p));
      inFlight.add(p);
    }
    await Promise.all(inFlight);
    const createAllMs = performance.now() - t0;
    await clock.all(pacedNames, 120_000);
    const allAssignedMs = performance.now() - t0;
    watch.abort();
    const paced = clock.summary(pacedNames);
    const achievedRate = round1(PACED_SERVICES / (createAllMs / 1000));
    const afterRss = rssMiB(ctl.pid);
    await sleep(2000); // writes still in flight when the last IP showed
    const writesAfter = await serviceWrites(state.apiserver, state.caFile, token);
    const perService = (k: string) => Math.round(((writesAfter.get(k) ?? 0) - (writesBefore.get(k) ?? 0)) / PACED_SERVICES * 1000) / 1000;
    const writes = { statusPatches: perService('PATCH services/status'), servicePatches: perService('PATCH services'), events: perService('POST events') };
    console.log(`controller paced: API writes per Service: ${writes.statusPatches} status patches, ${writes.servicePatches} annotation patches, ${writes.events} events`);
    console.log(`controller paced: ${paced.assigned}/${PACED_SERVICES} Services at ${achievedRate} creates/s (target ${RATE_PER_S}/s, ${lateStarts} starts late, ${createErrors} create errors); create-to-IP p50 ${paced.p50} ms, p99 ${paced.p99} ms, max ${paced.max} ms; all assigned after ${(allAssignedMs / 1000).toFixed(1)} s`);
    console.log(`controller: RSS ${idleRss.toFixed(1)} MiB idle, ${afterRss.toFixed(1)} MiB with ${IDLE_SERVICES + PACED_SERVICES} Services`);
    return {
      'idle.services': IDLE_SERVICES, 'idle.assigned': idle.assigned,
      'idle.createToIpP50Ms': idle.p50, 'idle.createToIpP99Ms': idle.p99, 'idle.createToIpMaxMs': idle.max,
      'paced.services': PACED_SERVICES, 'paced.assigned': paced.assigned, 'paced.targetRatePerS': RATE_PER_S,
      'paced.achievedRatePerS': achievedRate, 'paced.lateStarts': lateStarts, 'paced.createErrors': createErrors,
      'paced.createToIpP50Ms': paced.p50, 'paced.createToIpP99Ms': paced.p99, 'paced.createToIpMaxMs': paced.max,
      'paced.allAssignedS': round1(allAssignedMs / 1000),
      'paced.statusPatchesPerService': writes.statusPatches, 'paced.servicePatchesPerService': writes.servicePatches, 'paced.eventsPerService': writes.events,
      controllerRssIdleMiB: round1(idleRss), controllerRssAfterMiB: round1(afterRss),
    };
  } finally {
    await stopProcess(ctl);
    await labDown(dir, progress);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(JSON.stringify(await benchController(), null, 2));
}
