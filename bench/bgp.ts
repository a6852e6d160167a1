// BGP in a real lab (`lab up --router frr`, 2 nodes running `ironlb speaker`, FRR as the router,
// eBGP 64513 -> 64512), measured at the router's kernel table:
// 1. endpoint gone -> route gone: an ETP Local Service with one pod per node; each round deletes the
//    pod on lab-node-2 and times the DELETE request -> 192.0.2.12 gone from the VIP's next hops;
// 2. Service created -> route at the router, Service deleted -> route gone (announce/withdraw of
//    a whole Service: the API server, the speaker and FRR, no kube-controller-manager in the path);
// 3. link down -> next hop gone, with a BFDProfile (100 ms x 3) on the BGPPeer and without
//    (BGPPeer holdTime 9 s, so the hold timer decides);
// 4. 10,000 IPv6 /128s to one peer: a BgpSpeaker in its own process in lab-node-2's namespace
//    (not Services: 10,000 Services would measure the API server and controller, not BGP) is given
//    10,000 prefixes with one setDesired call over its IPv6 session; times until FRR's RIB and the
//    kernel table have all of them, and that process's RSS before and after.
// Starts its own lab in a temporary directory and always removes it (also on SIGINT/SIGTERM).
// Nothing here asserts a timing. Run alone: `npm run bench -- bgp`.
// Environment: IRONLB_BENCH_BGP_ROUNDS (20), IRONLB_BENCH_BGP_BFD_ROUNDS (10),
// IRONLB_BENCH_BGP_HOLD_ROUNDS (2), IRONLB_BENCH_BGP_PREFIXES (10000).
import { spawn, spawnSync, type ChildProcessByStdio } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { pino } from 'pino';
import { CoreV1Api } from '@kubernetes/client-node';
import { loadKubeConfig } from '../src/k8s/client.js';
import { kubectl, labUp, type LabState } from '../src/lab/lab.js';
import { sleep } from '../src/lab/processes.js';
import { formatIp } from '../src/net/address.js';
import { BgpSpeaker } from '../src/speaker/bgp/bgpSpeaker.js';
import type { AdvertisedRoute } from '../src/speaker/bgp/ribOut.js';
import { percentile } from '../src/speaker/membership/simulatedCluster.js';
import { agnhostDeployment, loadBalancerService } from '../src/lab/workloads.js';
import { withBenchLab } from './labSession.js';

const ROUNDS = Number(process.env.IRONLB_BENCH_BGP_ROUNDS ?? 20);
const BFD_ROUNDS = Number(process.env.IRONLB_BENCH_BGP_BFD_ROUNDS ?? 10);
const HOLD_ROUNDS = Number(process.env.IRONLB_BENCH_BGP_HOLD_ROUNDS ?? 2);
const PREFIXES = Number(process.env.IRONLB_BENCH_BGP_PREFIXES ?? 10_000);
const PREFIX_BASE = 0x2001_0db8_0005_0000_0000_0000_0000_0000n; // 2001:db8:5::/64
const NODE2 = '192.0.2.12';

const progress = (l: string) => process.stderr.write(`[bench bgp] ${l}\n`);
const fmt = (v: number) => (Number.isFinite(v) ? v.toFixed(0) : 'n/a');

// --- the prefix probe: `node dist/bench/bgp.js --prefix-probe <peer> <asn> <peerAsn>` inside a node namespace ---

async function prefixProbe(peerAddress: string, localAsn: number, peerAsn: number): Promise<void> {
  const say = (o: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(o)}\n`);
  const rss = () => process.memoryUsage().rss;
  const speaker = new BgpSpeaker({
    nodeName: 'bench-prefixes', log: pino({ level: 'warn' }, process.stderr), connectRetrySeconds: 1,
    onStateChange: (_peer, state) => { if (state === 'Established') say({ ev: 'established', rss: rss() }); },
  });
  speaker.setPeers([{ name: 'bench', peerAddress, peerPort: 179, peerAsn, localAsn, holdTime: 90, ebgpMultiHop: false, gracefulRestart: false, families: ['ipv6'] }]);
  const route: AdvertisedRoute = { communities: [] };
  for await (const line of createInterface({ input: process.stdin })) {
    const cmd = JSON.parse(line) as { op: string; n?: number };
    if (cmd.op === 'announce') {
      const t0 = performance.now();
      const rib = new Map<string, AdvertisedRoute>();
      for (let i = 1; i <= (cmd.n ?? 0); i++) rib.set(`${formatIp(6, PREFIX_BASE + BigInt(i))}/128`, route);
      speaker.setDesired('bench', rib);
      say({ ev: 'announced', ms: performance.now() - t0, rss: rss() });
    } else if (cmd.op === 'status') {
      say({ ev: 'status', rss: rss(), sent: speaker.status()[0]?.prefixesSent ?? 0 });
    } else if (cmd.op === 'stop') {
      await speaker.stop();
      say({ ev: 'stopped' });
      process.exit(0);
    }
  }
}

// --- lab helpers ---

function sh(command: string): string {
  return spawnSync('sh', ['-c', command], { encoding: 'utf8', maxBuffer: 64 << 20, timeout: 30_000 }).stdout ?? '';
}

function nextHops(ns: string, prefix: string): string[] {
  const r = spawnSync('ip', ['-n', ns, '-j', prefix.includes(':') ? '-6' : '-4', 'route', 'show', prefix], { encoding: 'utf8' });
  const routes = JSON.parse(r.stdout || '[]') as { gateway?: string; nexthops?: { gateway?: string }[] }[];
  return routes.flatMap((x) => (x.nexthops ? x.nexthops.flatMap((n) => (n.gateway ? [n.gateway] : [])) : x.gateway ? [x.gateway] : [])).sort();
}

/** Polls the router's kernel table (every ~10 ms) until `done(nextHops)`; ms since t0, or NaN after timeoutMs. */
async function untilHops(ns: string, prefix: string, t0: number, done: (hops: string[]) => boolean, timeoutMs: number): Promise<number> {
  for (;;) {
    if (done(nextHops(ns, prefix))) return performance.now() - t0;
    if (performance.now() - t0 > timeoutMs) return Number.NaN;
    await sleep(10);
  }
}

function summary(name: string, values: number[], failed: number): Record<string, number> {
  const ok = values.filter(Number.isFinite);
  const r = { p50: percentile(ok, 50), p99: percentile(ok, 99), max: ok.length ? Math.max(...ok) : Number.NaN, rounds: values.length, failed };
  console.log(`${name}: p50 ${fmt(r.p50)} ms, p99 ${fmt(r.p99)} ms, max ${fmt(r.max)} ms over ${ok.length} rounds (${failed} failed)`);
  return r;
}

interface Ctx { state: LabState; rt: string; k: (args: string[], input?: string) => string }

/** The bench's workload: `replicas` pods spread over the nodes behind an ETP Local Service of the same name. */
function deployment(name: string, replicas: number): string {
  return agnhostDeployment(name, { replicas, port: 8080, spreadOverNodes: true }) + '---\n' + loadBalancerService(name, { app: name, targetPort: 8080, local: true });
}

function podOn(ctx: Ctx, app: string, node: string): string | undefined {
  const pods = JSON.parse(ctx.k(['-n', 'default', 'get', 'pods', '-l', `app=${app}`, '-o', 'json'])).items as any[];
  const p = pods.find((x) => x.spec.nodeName === node && !x.metadata.deletionTimestamp
    && x.status?.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True'));
  return p?.metadata.name as string | undefined;
}

async function waitUntil<T>(what: string, fn: () => T | undefined, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(100);
  }
}

async function benchEndpointGone(ctx: Ctx): Promise<Record<string, number>> {
  ctx.k(['apply', '-f', '-'], deployment('solo', 2));
  const vip = await waitUntil('solo ingress', () => {
    const ing = JSON.parse(ctx.k(['-n', 'default', 'get', 'svc', 'solo', '-o', 'json'])).status?.loadBalancer?.ingress as { ip: string }[] | undefined;
    return ing?.[0]?.ip;
  }, 60_000);
  const times: number[] = [];
  let failed = 0;
  for (let i = 0; i < ROUNDS; i++) {
    const pod = await waitUntil('a ready solo pod on lab-node-2', () => podOn(ctx, 'solo', 'lab-node-2'), 120_000);
    await waitUntil('solo via both nodes', () => (nextHops(ctx.rt, vip).length === 2 ? true : undefined), 60_000);
    const t0 = performance.now();
    ctx.k(['-n', 'default', 'delete', 'pod', pod, '--wait=false']);
    const ms = await untilHops(ctx.rt, vip, t0, (h) => !h.includes(NODE2), 30_000);
    if (!Number.isFinite(ms)) failed++;
    times.push(ms);
    progress(`endpoint gone round ${i + 1}/${ROUNDS}: ${fmt(ms)} ms`);
  }
  ctx.k(['-n', 'default', 'delete', 'deployment', 'solo']);
  return summary('endpoint gone (pod DELETE on lab-node-2) -> its next hop gone at the router', times, failed);
}

/**
 * BGP announce and withdraw of a whole Service, without kube-controller-manager in the path:
 * each round creates a Cluster Service (pinned to its own VIP, selecting the `web` pods on both
 * nodes) through the API and times the create request -> the VIP's route in the router's kernel
 * table, then the delete request -> the route gone.
 */
async function benchServiceRoute(ctx: Ctx): Promise<Record<string, number>> {
  const core = loadKubeConfig(ctx.state.kubeconfig).makeApiClient(CoreV1Api);
  const announce: number[] = [];
  const withdraw: number[] = [];
  let announceFailed = 0;
  let withdrawFailed = 0;
  for (let i = 0; i < ROUNDS; i++) {
    const name = `route-${i}`;
    const vip = `203.0.113.${200 + (i % 50)}`;
    const body = {
      metadata: { name, annotations: { 'metallb.io/loadBalancerIPs': vip } },
      spec: { type: 'LoadBalancer', externalTrafficPolicy: 'Cluster', selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080, protocol: 'TCP' }] },
    };
    const t0 = performance.now();
    await core.createNamespacedService({ namespace: 'default', body });
    const up = await untilHops(ctx.rt, vip, t0, (h) => h.length > 0, 30_000);
    if (!Number.isFinite(up)) announceFailed++;
    announce.push(up);
    await sleep(300);
    const t1 = performance.now();
    await core.deleteNamespacedService({ namespace: 'default', name });
    const down = await untilHops(ctx.rt, vip, t1, (h) => h.length === 0, 30_000);
    if (!Number.isFinite(down)) withdrawFailed++;
    withdraw.push(down);
    progress(`service route round ${i + 1}/${ROUNDS}: announce ${fmt(up)} ms, withdraw ${fmt(down)} ms`);
    await sleep(300);
  }
  const a = summary('Service created -> its route in the router\'s kernel table (BGP announce)', announce, announceFailed);
  const w = summary('Service deleted -> its route gone from the router\'s kernel table (BGP withdraw)', withdraw, withdrawFailed);
  return {
    announceP50Ms: a.p50!, announceP99Ms: a.p99!, announceMaxMs: a.max!, announceFailed,
    withdrawP50Ms: w.p50!, withdrawP99Ms: w.p99!, withdrawMaxMs: w.max!, withdrawFailed, rounds: ROUNDS,
  };
}

function frrBfdUp(ctx: Ctx, peer: string): boolean {
  const out = sh(`ip netns exec ${ctx.rt} /usr/bin/vtysh --vty_socket ${ctx.state.router?.dir} -c 'show bfd peers json'`);
  return (JSON.parse(out || '[]') as { peer: string; status: string }[]).some((p) => p.peer === peer && p.status === 'up');
}

async function benchLinkDown(ctx: Ctx, bfd: boolean, rounds: number, vip: string): Promise<Record<string, number>> {
  const patch = bfd ? { bfdProfile: 'fast', holdTime: '90s' } : { bfdProfile: null, holdTime: '9s' };
  ctx.k(['-n', 'metallb-system', 'patch', 'bgppeers.metallb.io', 'lab-router', '--type', 'merge', '-p', JSON.stringify({ spec: patch })]);
  const n2 = ctx.state.network?.nodes.find((n) => n.name === 'lab-node-2')?.namespace as string;
  const times: number[] = [];
  const detections: number[] = [];
  let failed = 0;
  await sleep(2000); // the changed spec restarts the sessions
  const log = join(ctx.state.dir, 'logs', 'speaker-lab-node-2.log');
  for (let i = 0; i < rounds; i++) {
    await waitUntil(`${vip} via both nodes`, () => (nextHops(ctx.rt, vip).length === 2 ? true : undefined), 90_000);
    if (bfd) await waitUntil('BFD up with lab-node-2 at the router', () => (frrBfdUp(ctx, NODE2) ? true : undefined), 30_000);
    await sleep(500);
    const wall0 = Date.now();
    const t0 = performance.now();
    spawnSync('ip', ['-n', n2, 'link', 'set', 'eth0', 'down']);
    const ms = await untilHops(ctx.rt, vip, t0, (h) => !h.includes(NODE2), 60_000);
    spawnSync('ip', ['-n', n2, 'link', 'set', 'eth0', 'up']);
    if (!Number.isFinite(ms)) failed++;
    times.push(ms);
    // Detection alone: our speaker's BFD session on lab-node-2 went down (its log's timestamp);
    // the router detects us at the same 100 ms x 3, its route removal comes on top.
    const detected = bfd ? firstLogTime(log, 'BFD session down: taking the BGP session down', wall0) - wall0 : Number.NaN;
    if (bfd) detections.push(detected);
    progress(`link down ${bfd ? 'with BFD' : 'without BFD (hold 9 s)'} round ${i + 1}/${rounds}: ${fmt(ms)} ms${bfd ? ` (our BFD session down after ${fmt(detected)} ms)` : ''}`);
  }
  const r = summary(`link down -> next hop gone at the router, ${bfd ? 'BFD 100 ms x 3' : 'no BFD, hold time 9 s'}`, times, failed);
  if (!bfd) return r;
  const d = summary('link down -> our BFD session down (detection, 100 ms x 3)', detections, detections.filter((v) => !Number.isFinite(v)).length);
  return { ...r, detectionP50: d.p50!, detectionP99: d.p99!, detectionMax: d.max!, detectionFailed: d.failed! };
}

/** The pino `time` (ms since the epoch) of the first line with message `msg` at or after `since`; NaN if none. */
function firstLogTime(log: string, msg: string, since: number): number {
  let text = '';
  try {
    text = readFileSync(log, 'utf8');
  } catch {
    return Number.NaN;
  }
  for (const line of text.split('\n')) {
    if (!line.includes(msg)) continue;
    try {
      const time = (JSON.parse(line) as { time?: number }).time;
      if (typeof time === 'number' && time >= since) return time;
    } catch { /* not a JSON line */ }
  }
  return Number.NaN;
}

async function benchPrefixes(ctx: Ctx): Promise<Record<string, number>> {
  const n2 = ctx.state.network?.nodes.find((n) => n.name === 'lab-node-2')?.namespace as string;
  const script = fileURLToPath(import.meta.url);
  const child: ChildProcessByStdio<Writable, Readable, null> = spawn('ip', ['netns', 'exec', n2, process.execPath, script, '--prefix-probe', '2001:db8:1::1', '64513', '64512'],
    { stdio: ['pipe', 'pipe', 'inherit'] });
  const events: Record<string, unknown>[] = [];
  const waiters: ((e: Record<string, unknown>) => void)[] = [];
  createInterface({ input: child.stdout }).on('line', (line) => {
    try {
      const e = JSON.parse(line) as Record<string, unknown>;
      events.push(e);
      for (const w of waiters.splice(0)) w(e);
    } catch { progress(`probe: ${line}`); }
  });
  const next = (ev: string, timeoutMs: number) => new Promise<Record<string, unknown>>((resolve, reject) => {
    const found = events.find((e) => e.ev === ev);
    if (found) { events.splice(events.indexOf(found), 1); resolve(found); return; }
    const timer = setTimeout(() => reject(new Error(`prefix probe: no ${ev} within ${timeoutMs} ms`)), timeoutMs);
    const w = (e: Record<string, unknown>) => {
      if (e.ev === ev) { clearTimeout(timer); events.splice(events.indexOf(e), 1); resolve(e); } else waiters.push(w);
    };
    waiters.push(w);
  });
  const send = (o: Record<string, unknown>) => child.stdin.write(`${JSON.stringify(o)}\n`);
  const rssOf = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? NaN) * 1024;
  const vtysh = `ip netns exec ${ctx.rt} /usr/bin/vtysh --vty_socket ${ctx.state.router?.dir}`;
  const ribCount = () => {
    const peers = JSON.parse(sh(`${vtysh} -c 'show bgp ipv6 unicast summary json'`) || '{}').peers ?? {};
    return Number(peers['2001:db8:1::12']?.pfxRcd ?? 0);
  };
  const kernelCount = () => Number(sh(`ip -n ${ctx.rt} -6 route show proto bgp | grep -c '^2001:db8:5::'`).trim() || 0);
  try {
    await next('established', 60_000);
    await sleep(1000);
    const rssIdle = rssOf();
    const t0 = performance.now();
    send({ op: 'announce', n: PREFIXES });
    const announced = await next('announced', 60_000);
    let ribMs = Number.NaN;
    let kernelMs = Number.NaN;
    while (performance.now() - t0 < 180_000 && !(Number.isFinite(ribMs) && Number.isFinite(kernelMs))) {
      if (!Number.isFinite(ribMs) && ribCount() >= PREFIXES) ribMs = performance.now() - t0;
      if (!Number.isFinite(kernelMs) && kernelCount() >= PREFIXES) kernelMs = performance.now() - t0;
      await sleep(50);
    }
    const rssAfter = rssOf();
    const r = {
      prefixes: PREFIXES, setDesiredMs: Number(announced.ms), routerRibMs: ribMs, routerKernelMs: kernelMs,
      speakerRssIdleMiB: rssIdle / 2 ** 20, speakerRssAfterMiB: rssAfter / 2 ** 20,
    };
    console.log(`${PREFIXES} IPv6 /128s to one FRR peer: setDesired ${fmt(r.setDesiredMs)} ms; all in FRR's RIB after ${fmt(ribMs)} ms, all in the router's kernel table after ${fmt(kernelMs)} ms`);
    console.log(`  speaker process RSS: ${r.speakerRssIdleMiB.toFixed(1)} MiB established and idle, ${r.speakerRssAfterMiB.toFixed(1)} MiB with ${PREFIXES} prefixes (+${((rssAfter - rssIdle) / PREFIXES).toFixed(0)} bytes per prefix)`);
    send({ op: 'stop' });
    await next('stopped', 20_000).catch(() => undefined);
    return r;
  } finally {
    if (child.exitCode === null) child.kill();
  }
}

export async function benchBgp(): Promise<Record<string, number>> {
  return withBenchLab('bgp', progress, async ({ dir }) => {
    const state = await labUp({ dir, progress, nodes: 2, router: 'frr' });
    if (!state.router) throw new Error('the lab came up without its router');
    const ctx: Ctx = { state, rt: state.router.namespace, k: (args, input) => kubectl(state, args, input) };
    ctx.k(['apply', '-f', '-'], `apiVersion: metallb.io/v1beta1
kind: BFDProfile
metadata: {name: fast, namespace: metallb-system}
spec: {receiveInterval: 100, transmitInterval: 100, detectMultiplier: 3}
`);
    const results: Record<string, number> = {};
    const put = (prefix: string, r: Record<string, number>) => {
      for (const [k, v] of Object.entries(r)) results[`${prefix}.${k}`] = v;
    };
    put('endpointGone', await benchEndpointGone(ctx));
    // A Cluster Service with a pod on each node for the link-down rounds.
    ctx.k(['apply', '-f', '-'], deployment('web', 2).replace('externalTrafficPolicy: Local', 'externalTrafficPolicy: Cluster'));
    const vip = await waitUntil('web ingress', () => (JSON.parse(ctx.k(['-n', 'default', 'get', 'svc', 'web', '-o', 'json'])).status?.loadBalancer?.ingress as { ip: string }[] | undefined)?.[0]?.ip, 60_000);
    put('serviceRoute', await benchServiceRoute(ctx));
    const withBfd = await benchLinkDown(ctx, true, BFD_ROUNDS, vip);
    put('linkDownBfd', withBfd);
    const withoutBfd = await benchLinkDown(ctx, false, HOLD_ROUNDS, vip);
    put('linkDownHold9s', withoutBfd);
    console.log(`BFD vs hold timer (p50): ${(withoutBfd.p50! / withBfd.p50!).toFixed(1)}x faster with BFD`);
    put('prefixes', await benchPrefixes(ctx));
    return results;
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  if (process.argv[2] === '--prefix-probe') {
    await prefixProbe(process.argv[3] as string, Number(process.argv[4]), Number(process.argv[5]));
  } else {
    const r = await benchBgp();
    console.log(JSON.stringify(r, null, 2));
  }
}
