// Layer 2 in a real lab (3 node namespaces running `ironlb speaker`, a client on the same LAN):
// 1. failover over >= 20 unplanned node losses (owner's eth0 down + speaker SIGKILL), measured
//    at the client: neighbour entry switched to another node's MAC, first successful HTTP;
// 2. Service IP assignment -> first gratuitous ARP seen by the client (and creation -> it);
// 3. one speaker's RSS idle and with 1,000 announced IPs;
// 4. 10,000 Services spread by the election over the three speakers: time until each is announced
//    by exactly one speaker, the speakers' RSS and CPU.
// Starts its own lab in a temporary directory and always removes it (also on SIGINT/SIGTERM).
// Nothing here asserts a timing. Run alone: `npm run bench -- layer2`.
// Environment: IRONLB_BENCH_L2_ROUNDS (20), IRONLB_BENCH_L2_ANNOUNCES (12), IRONLB_BENCH_L2_RSS_SERVICES
// (1000), IRONLB_BENCH_L2_RSS_WAIT_MS (150000), IRONLB_BENCH_L2_SPREAD_SERVICES (10000),
// IRONLB_BENCH_L2_SPREAD_WAIT_MS (1200000), IRONLB_BENCH_L2_PARTS (failover,announce,rss,spread), IRONLB_BENCH_L2_KEEP_LOGS=<dir> copies the lab's logs there before the lab is removed.
import { CoreV1Api, CustomObjectsApi, Watch, type V1Service } from '@kubernetes/client-node';
import { spawn, spawnSync, type ChildProcessByStdio } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { loadKubeConfig } from '../src/k8s/client.js';
import { kubectl, labUp, METALLB_NAMESPACE, readLabState, restartLabProcess, type LabState } from '../src/lab/lab.js';
import type { LabNetwork } from '../src/lab/network.js';
import { isRunning, sleep } from '../src/lab/processes.js';
import { projectRoot } from '../src/lab/projectRoot.js';
import { electionHash } from '../src/speaker/election.js';
import { percentile } from '../src/speaker/membership/simulatedCluster.js';
import type { FailoverCommand, FailoverResult, GratuitousArpEvent } from './layer2Probe.js';
import { withRetries } from './apiRetry.js';
import { withBenchLab } from './labSession.js';
import { agnhostDeployment } from '../src/lab/workloads.js';

const ROUNDS = Number(process.env.IRONLB_BENCH_L2_ROUNDS ?? 20);
const ANNOUNCES = Number(process.env.IRONLB_BENCH_L2_ANNOUNCES ?? 12);
const RSS_SERVICES = Number(process.env.IRONLB_BENCH_L2_RSS_SERVICES ?? 1000);
/** A round whose client saw no other MAC or no answer within this long counts as failed. */
const FAILOVER_TIMEOUT_MS = 10_000;
/** After the killed speaker logs "speaker started" again: let gossip and the failback settle. */
const SETTLE_MS = 1500;
const NS = 'bench-l2';
/** Failover Services per node: their IPs are chosen so that each node is the elected owner of this many. */
const FAILOVER_SERVICES_PER_NODE = 2;
const FAILOVER_POOL_FIRST = 200;
const FAILOVER_POOL_LAST = 219;
const CREATE_CONCURRENCY = 20;
/** Services spread over every node by the election (the "10,000 Services across the lab's nodes" goal). */
const SPREAD_SERVICES = Number(process.env.IRONLB_BENCH_L2_SPREAD_SERVICES ?? 10_000);
const SPREAD_WAIT_MS = Number(process.env.IRONLB_BENCH_L2_SPREAD_WAIT_MS ?? 20 * 60_000);
/** After creation stopped at the deadline, how long the created Services get to be announced (IRONLB_BENCH_L2_SPREAD_SETTLE_MS). */
const SPREAD_SETTLE_MS = Number(process.env.IRONLB_BENCH_L2_SPREAD_SETTLE_MS ?? 3 * 60_000);
/** Inside the LAN's 2001:db8:1::/64 (so neighbour discovery reaches the nodes), apart from bench-rss. */
const SPREAD_POOL = '2001:db8:1::5c:0/112';
/** Which parts run (IRONLB_BENCH_L2_PARTS, comma-separated); all by default. */
const ALL_PARTS = ['failover', 'announce', 'rss', 'spread'];
const PARTS = new Set((process.env.IRONLB_BENCH_L2_PARTS ?? ALL_PARTS.join(',')).split(',').map((p) => p.trim()));

/** The parts this run measures when IRONLB_BENCH_L2_PARTS names only some; undefined for all. */
export function layer2PartsRun(): string[] | undefined {
  const run = ALL_PARTS.filter((p) => PARTS.has(p));
  return run.length === ALL_PARTS.length ? undefined : run;
}
/** Longest wait, from the first create, for the speaker to announce all rss Services. */
const RSS_WAIT_MS = Number(process.env.IRONLB_BENCH_L2_RSS_WAIT_MS ?? 150_000);

const progress = (l: string) => process.stderr.write(`[bench layer2] ${l}\n`);
const hrNow = () => process.hrtime.bigint();
const msBetween = (a: bigint, b: bigint) => Number(b - a) / 1e6;
const fmt = (v: number) => (Number.isFinite(v) ? v.toFixed(0) : 'n/a');

// --- the client probe (bench/layer2Probe.ts, inside the client namespace) ---

class ClientProbe {
  readonly #child: ChildProcessByStdio<Writable, Readable, null>;
  readonly #pending = new Map<number, (v: unknown) => void>();
  readonly #garpListeners = new Set<(e: GratuitousArpEvent) => void>();
  #nextId = 1;

  constructor(namespace: string) {
    const script = join(projectRoot(), 'dist', 'bench', 'layer2Probe.js');
    this.#child = spawn('ip', ['netns', 'exec', namespace, process.execPath, script], { stdio: ['pipe', 'pipe', 'inherit'] });
    createInterface({ input: this.#child.stdout }).on('line', (line) => {
      let msg: { id?: number; ev?: string; message?: string };
      try {
        msg = JSON.parse(line) as typeof msg;
      } catch {
        progress(`probe said: ${line}`);
        return;
      }
      if (msg.ev === 'garp') for (const l of this.#garpListeners) l(msg as GratuitousArpEvent);
      else if (msg.ev === 'error') progress(`probe error: ${msg.message}`);
      else if (msg.id !== undefined) {
        this.#pending.get(msg.id)?.(msg);
        this.#pending.delete(msg.id);
      }
    });
  }

  call<T>(command: Record<string, unknown>, timeoutMs = 30_000): Promise<T> {
    const id = this.#nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`the client probe did not answer ${String(command.op)} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(id, (v) => {
        clearTimeout(timer);
        const err = (v as { error?: string }).error;
        if (err && command.op !== 'failover') reject(new Error(`client probe, ${String(command.op)}: ${err}`));
        else resolve(v as T);
      });
      this.#child.stdin.write(`${JSON.stringify({ ...command, id })}\n`);
    });
  }

  onGarp(listener: (e: GratuitousArpEvent) => void): () => void {
    this.#garpListeners.add(listener);
    return () => this.#garpListeners.delete(listener);
  }

  stop(): void {
    this.#child.stdin.end();
    if (this.#child.exitCode === null) this.#child.kill();
  }
}

// --- lab helpers ---

function runChecked(args: string[]): string {
  const r = spawnSync(args[0] as string, args.slice(1), { encoding: 'utf8', maxBuffer: 64 << 20, timeout: 20_000 });
  if (r.status !== 0) throw new Error(`${args.join(' ')} failed: ${(r.stderr || r.stdout || r.error?.message || '').trim()}`);
  return r.stdout;
}

interface Neighbour { mac: string | undefined; state: string }

function clientNeighbour(net: LabNetwork, ip: string): Neighbour | undefined {
  const line = spawnSync('ip', ['-n', net.clientNamespace, 'neigh', 'show', ip, 'dev', 'eth0'], { encoding: 'utf8' }).stdout.trim();
  if (!line) return undefined;
  const words = line.split(/\s+/);
  const at = words.indexOf('lladdr');
  return { mac: at >= 0 ? words[at + 1]?.toLowerCase() : undefined, state: words[words.length - 1] ?? '' };
}

/** One request from the client namespace; the pod's JSON answer names its node. */
function curlFromClient(net: LabNetwork, ip: string, port: number, seconds = 2): { ok: boolean; node?: string; err: string } {
  const host = ip.includes(':') ? `[${ip}]` : ip;
  const r = spawnSync('ip', ['netns', 'exec', net.clientNamespace, 'curl', '-sS', '-m', String(seconds), `http://${host}:${port}/`], { encoding: 'utf8', timeout: 20_000 });
  if (r.status !== 0) return { ok: false, err: (r.stderr ?? '').trim() };
  try {
    return { ok: true, node: (JSON.parse(r.stdout) as { node?: string }).node, err: '' };
  } catch {
    return { ok: false, err: `not a pod answer: ${r.stdout.slice(0, 100)}` };
  }
}

function speakerProcess(dir: string, node: string) {
  const p = readLabState(dir)?.processes.find((x) => x.name === `ironlb-speaker@${node}`);
  if (!p) throw new Error(`no process ironlb-speaker@${node} in the lab state of ${dir}`);
  return p;
}

function countInLog(log: string, msg: string): number {
  try {
    return readFileSync(log, 'utf8').split(`"msg":"${msg}"`).length - 1;
  } catch {
    return 0;
  }
}

function statusKiB(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : NaN;
  } catch {
    return NaN;
  }
}
const mib = (kib: number) => kib / 1024;

async function waitUntil<T>(what: string, timeoutMs: number, probe: () => T | undefined | Promise<T | undefined>, everyMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs / 1000} s`);
    await sleep(everyMs);
  }
}

function stats(values: readonly number[]): { p50: number; p99: number; max: number } {
  return { p50: percentile(values, 50), p99: percentile(values, 99), max: values.length ? Math.max(...values) : NaN };
}

// --- objects ---

function setupManifests(): string {
  return `apiVersion: v1
kind: Namespace
metadata: { name: ${NS} }
---
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: { name: bench-failover, namespace: ${METALLB_NAMESPACE} }
spec:
  addresses: [192.0.2.${FAILOVER_POOL_FIRST}-192.0.2.${FAILOVER_POOL_LAST}]
  autoAssign: false
---
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: { name: bench-announce, namespace: ${METALLB_NAMESPACE} }
spec:
  addresses: [192.0.2.220-192.0.2.249]
  autoAssign: false
---
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: { name: bench-rss, namespace: ${METALLB_NAMESPACE} }
spec:
  addresses: ["2001:db8:1::1000/118"]
  autoAssign: false
---
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: { name: bench-spread, namespace: ${METALLB_NAMESPACE} }
spec:
  addresses: ["${SPREAD_POOL}"]
  autoAssign: false
---
apiVersion: metallb.io/v1beta1
kind: L2Advertisement
metadata: { name: bench-lan, namespace: ${METALLB_NAMESPACE} }
spec:
  ipAddressPools: [bench-failover, bench-announce, bench-spread]
---
apiVersion: metallb.io/v1beta1
kind: L2Advertisement
metadata: { name: bench-rss-node1, namespace: ${METALLB_NAMESPACE} }
spec:
  ipAddressPools: [bench-rss]
  nodeSelectors:
  - matchLabels: { kubernetes.io/hostname: lab-node-1 }
---
${agnhostDeployment('web', { replicas: 3, port: 8080, namespace: NS, spreadOverNodes: true })}`;
}

function lbService(name: string, pool: string, policy: 'Local' | 'Cluster', family: 'IPv4' | 'IPv6', ip?: string): V1Service {
  return {
    metadata: { name, namespace: NS, annotations: { 'metallb.io/address-pool': pool, ...(ip ? { 'metallb.io/loadBalancerIPs': ip } : {}) } },
    spec: {
      type: 'LoadBalancer', externalTrafficPolicy: policy, ipFamilyPolicy: 'SingleStack', ipFamilies: [family],
      selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }],
    },
  };
}

// --- the bench ---

interface Ctx {
  readonly dir: string;
  readonly state: LabState;
  readonly net: LabNetwork;
  readonly core: CoreV1Api;
  readonly custom: CustomObjectsApi;
  readonly probe: ClientProbe;
  readonly macToNode: Record<string, string>;
  readonly nodeToMac: Record<string, string>;
}

/** Service name -> nodes with a ServiceL2Status for it (one when settled, more while two announce). */
async function l2Owners(ctx: Ctx): Promise<Map<string, string[]>> {
  const list = (await ctx.custom.listNamespacedCustomObject({
    group: 'metallb.io', version: 'v1beta1', namespace: METALLB_NAMESPACE, plural: 'servicel2statuses',
    labelSelector: `metallb.io/service-namespace=${NS}`,
  })) as { items: { status?: { node?: string; serviceName?: string } }[] };
  const owners = new Map<string, string[]>();
  for (const s of list.items) {
    if (!s.status?.serviceName || !s.status.node) continue;
    owners.set(s.status.serviceName, [...(owners.get(s.status.serviceName) ?? []), s.status.node].sort());
  }
  return owners;
}

async function ingressIp(ctx: Ctx, name: string): Promise<string | undefined> {
  const svc = await ctx.core.readNamespacedService({ name, namespace: NS });
  return svc.status?.loadBalancer?.ingress?.[0]?.ip;
}

async function deployWeb(ctx: Ctx): Promise<void> {
  progress('applying pools (bench-failover, bench-announce, bench-rss), L2Advertisements and the 3-replica Deployment web');
  kubectl(ctx.state, ['apply', '-f', '-'], setupManifests());
  const pods = await waitUntil('3 ready pods of Deployment web', 90_000, () => {
    const list = JSON.parse(kubectl(ctx.state, ['-n', NS, 'get', 'pods', '-l', 'app=web', '-o', 'json'])) as {
      items: { spec: { nodeName?: string }; metadata: { deletionTimestamp?: string }; status?: { conditions?: { type: string; status: string }[] } }[];
    };
    const ready = list.items.filter((p) => !p.metadata.deletionTimestamp && p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
    return ready.length === 3 ? ready.map((p) => p.spec.nodeName ?? '?') : undefined;
  }, 500);
  const distinct = new Set(pods);
  progress(`pods of web on ${[...pods].sort().join(', ')}`);
  if (distinct.size !== 3) throw new Error(`the 3 pods of web are on ${distinct.size} distinct nodes (${pods.join(', ')}); the failover rounds need one per node`);
}

interface RoundRecord { service: string; killed: string; result: FailoverResult; takeover?: string }

/** Waits until `service` has one owner and the client's entry for its VIP holds that owner's MAC. */
async function prepareRound(ctx: Ctx, service: string, vip: string, notes: { fixups: number; multiOwner: number }): Promise<string> {
  const started = Date.now();
  let sawMulti = false;
  let flushed = false;
  for (;;) {
    const owners = (await l2Owners(ctx)).get(service) ?? [];
    if (owners.length > 1) sawMulti = true;
    const owner = owners.length === 1 ? owners[0] as string : undefined;
    const answer = curlFromClient(ctx.net, vip, 80);
    const n = clientNeighbour(ctx.net, vip);
    if (owner && answer.ok && n && n.mac === ctx.nodeToMac[owner] && ['REACHABLE', 'STALE', 'DELAY'].includes(n.state)) {
      if (sawMulti) notes.multiOwner++;
      return owner;
    }
    const waited = Date.now() - started;
    if (owner && !flushed && waited > 6_000 && n?.mac && n.mac !== ctx.nodeToMac[owner]) {
      // The 5 s gratuitous window of a (re)announcement is over and the client still points
      // elsewhere: start it afresh so its ARP request is answered by the owner.
      progress(`  ${vip}: client still has ${n.mac} (${ctx.macToNode[n.mac] ?? '?'}) ${n.state} while ${owner} owns it since >6 s; flushing the entry`);
      spawnSync('ip', ['-n', ctx.net.clientNamespace, 'neigh', 'del', vip, 'dev', 'eth0']);
      notes.fixups++;
      flushed = true;
    }
    if (waited > 20_000) throw new Error(`${service} (${vip}) did not settle: owners [${owners.join(', ')}], client neighbour ${n ? `${n.mac} ${n.state}` : 'none'}, curl ${answer.ok ? `ok via ${answer.node}` : answer.err}`);
    await sleep(250);
  }
}

async function restoreNode(ctx: Ctx, node: string): Promise<void> {
  const ns = ctx.net.nodes.find((n) => n.name === node)?.namespace as string;
  runChecked(['ip', '-n', ns, 'link', 'set', 'eth0', 'up']);
  const p = speakerProcess(ctx.dir, node);
  const before = countInLog(p.log, 'speaker started');
  await restartLabProcess(ctx.dir, p.name);
  await waitUntil(`${p.name} to log "speaker started" after its restart`, 30_000, () => (countInLog(p.log, 'speaker started') > before ? true : undefined), 100);
  await sleep(SETTLE_MS);
}

async function benchFailover(ctx: Ctx): Promise<Record<string, number>> {
  // With every node eligible (one local pod each), the owner of an IP is the node with the lowest
  // sha256(node#ip) (spec 4.3); requesting IPs by that rule spreads the losses over all nodes.
  // The owner of each round is still read from the ServiceL2Status, not assumed.
  const nodeNames = ctx.net.nodes.map((n) => n.name);
  const requested: string[] = [];
  for (const node of nodeNames) {
    for (let host = FAILOVER_POOL_FIRST, picked = 0; host <= FAILOVER_POOL_LAST && picked < FAILOVER_SERVICES_PER_NODE; host++) {
      const ip = `192.0.2.${host}`;
      const first = [...nodeNames].sort((a, b) => Buffer.compare(electionHash(a, ip), electionHash(b, ip)))[0];
      if (first === node) {
        requested.push(ip);
        picked++;
      }
    }
  }
  const services = requested.map((_, i) => `fo-${i}`);
  progress(`creating ${services.length} LoadBalancer Services (externalTrafficPolicy Local) with IPs ${requested.join(', ')} from pool bench-failover`);
  for (const [i, s] of services.entries()) await ctx.core.createNamespacedService({ namespace: NS, body: lbService(s, 'bench-failover', 'Local', 'IPv4', requested[i]) });
  const vips = new Map<string, string>();
  for (const s of services) vips.set(s, await waitUntil(`an external IP for ${s}`, 30_000, () => ingressIp(ctx, s)));
  const owners = await waitUntil('one ServiceL2Status per failover Service', 30_000, async () => {
    const o = await l2Owners(ctx);
    return services.every((s) => o.get(s)?.length === 1) ? o : undefined;
  });
  console.log(`failover: Services ${services.map((s) => `${s}=${vips.get(s)}@${owners.get(s)?.[0]}`).join(', ')}`);

  const kills = new Map<string, number>(ctx.net.nodes.map((n) => [n.name, 0]));
  const rounds: RoundRecord[] = [];
  const notes = { fixups: 0, multiOwner: 0, skipped: 0 };
  for (let round = 1; round <= ROUNDS; round++) {
    // Spread the losses over the nodes: the Service whose owner was killed least so far.
    const current = await l2Owners(ctx);
    const candidates = services.filter((s) => current.get(s)?.length === 1)
      .sort((a, b) => (kills.get(current.get(a)?.[0] ?? '') ?? 0) - (kills.get(current.get(b)?.[0] ?? '') ?? 0) || ((services.indexOf(a) - round + 600) % services.length) - ((services.indexOf(b) - round + 600) % services.length));
    const service = candidates[0] ?? services[round % services.length] as string;
    const vip = vips.get(service) as string;
    let owner: string;
    try {
      owner = await prepareRound(ctx, service, vip, notes);
    } catch (e) {
      notes.skipped++;
      console.log(`failover round ${round}: skipped, ${(e as Error).message}`);
      continue;
    }
    const speaker = speakerProcess(ctx.dir, owner);
    if (!isRunning(speaker)) throw new Error(`${speaker.name} (pid ${speaker.pid}) is not running before round ${round}; see ${speaker.log}`);
    const ns = ctx.net.nodes.find((n) => n.name === owner)?.namespace as string;
    const cmd: Omit<FailoverCommand, 'id'> = {
      op: 'failover', vip, port: 80, oldMac: ctx.nodeToMac[owner] as string, nodeMacs: ctx.macToNode,
      killNamespace: ns, killPid: speaker.pid, timeoutMs: FAILOVER_TIMEOUT_MS, attemptEveryMs: 20, attemptTimeoutMs: 300,
    };
    const result = await ctx.probe.call<FailoverResult>(cmd as unknown as Record<string, unknown>, FAILOVER_TIMEOUT_MS + 20_000);
    kills.set(owner, (kills.get(owner) ?? 0) + 1);
    const takeover = result.newMac ? ctx.macToNode[result.newMac] : undefined;
    rounds.push({ service, killed: owner, result, ...(takeover ? { takeover } : {}) });
    console.log(`failover round ${String(round).padStart(2)}: ${service} ${vip} owner ${owner} killed -> neighbour ${result.neighbourMs === null ? 'NO SWITCH' : `${result.neighbourMs.toFixed(0)} ms (${takeover} ${result.newState})`}, HTTP ${result.httpMs === null ? 'NO ANSWER' : `${result.httpMs.toFixed(0)} ms (pod on ${result.httpNode})`}, ${result.attempts} attempts${result.error ? `; ${result.error}` : ''}`);
    if (result.neighbourMs === null) console.log(`    client entry at the end: ${result.finalNeighbour || '(none)'}; ${result.vipChanges} kernel notifications about it`);
    await restoreNode(ctx, owner);
  }

  const ok = (r: RoundRecord) => r.result.neighbourMs !== null && r.result.httpMs !== null;
  const failed = rounds.filter((r) => !ok(r)).length;
  const neighbour = stats(rounds.flatMap((r) => (r.result.neighbourMs === null ? [] : [r.result.neighbourMs])));
  const http = stats(rounds.flatMap((r) => (r.result.httpMs === null ? [] : [r.result.httpMs])));
  const linkDown = stats(rounds.map((r) => r.result.linkDownMs));
  console.log(`failover: ${rounds.length} node losses (${[...kills].map(([n, k]) => `${n} x${k}`).join(', ')}), ${failed} failed (no switch or no answer within ${FAILOVER_TIMEOUT_MS / 1000} s), ${notes.skipped} rounds skipped (did not settle)`);
  console.log(`failover: client neighbour entry -> another node's MAC: p50 ${fmt(neighbour.p50)} ms, p99 ${fmt(neighbour.p99)} ms, max ${fmt(neighbour.max)} ms`);
  console.log(`failover: first successful HTTP request (new connection every 20 ms, 300 ms timeout): p50 ${fmt(http.p50)} ms, p99 ${fmt(http.p99)} ms, max ${fmt(http.max)} ms`);
  console.log(`failover: t0 = 'ip link set eth0 down' returned (it took p50 ${linkDown.p50.toFixed(1)} ms); before a round the client had to be pointed at the owner by flushing its entry ${notes.fixups} times; ${notes.multiOwner} rounds first saw two ServiceL2Status owners`);
  return {
    rounds: rounds.length, failed, skipped: notes.skipped,
    neighbourP50Ms: neighbour.p50, neighbourP99Ms: neighbour.p99, neighbourMaxMs: neighbour.max,
    httpP50Ms: http.p50, httpP99Ms: http.p99, httpMaxMs: http.max,
    clientFlushes: notes.fixups,
  };
}

async function benchAnnounce(ctx: Ctx): Promise<Record<string, number>> {
  const ingressAt = new Map<string, { t: bigint; ip: string }>();
  const watchAbort = await new Watch(loadKubeConfig(ctx.state.kubeconfig)).watch(`/api/v1/namespaces/${NS}/services`, {}, (_type: string, obj: V1Service) => {
    const name = obj.metadata?.name ?? '';
    const ip = obj.status?.loadBalancer?.ingress?.[0]?.ip;
    if (ip && name.startsWith('ann-') && !ingressAt.has(name)) ingressAt.set(name, { t: hrNow(), ip });
  }, () => {});
  const garps: GratuitousArpEvent[] = [];
  const stopListening = ctx.probe.onGarp((e) => garps.push(e));
  await ctx.probe.call({ op: 'arp-capture', on: true });
  const fromIngress: number[] = [];
  const fromCreate: number[] = [];
  const ipsSeen: string[] = [];
  let missed = 0;
  try {
    await sleep(300); // the watch's initial list is in
    for (let i = 0; i < ANNOUNCES; i++) {
      const name = `ann-${i}`;
      const created = hrNow();
      await ctx.core.createNamespacedService({ namespace: NS, body: lbService(name, 'bench-announce', 'Cluster', 'IPv4') });
      try {
        const first = await waitUntil(`a gratuitous ARP for ${name}'s IP`, 10_000, () => {
          const ing = ingressAt.get(name);
          const g = ing && garps.find((e) => e.ip === ing.ip && BigInt(e.tNs) > created);
          return g && ing ? { g, ing } : undefined;
        }, 5);
        const garpAt = BigInt(first.g.tNs);
        fromIngress.push(msBetween(first.ing.t, garpAt));
        fromCreate.push(msBetween(created, garpAt));
        ipsSeen.push(first.ing.ip);
        console.log(`announce ${String(i + 1).padStart(2)}: ${name} ${first.ing.ip}: create -> ingress ${msBetween(created, first.ing.t).toFixed(0)} ms, ingress -> first gratuitous ARP ${msBetween(first.ing.t, garpAt).toFixed(0)} ms (from ${ctx.macToNode[first.g.mac] ?? first.g.mac}, ${first.g.operation === 1 ? 'request' : 'reply'} form)`);
      } catch (e) {
        missed++;
        console.log(`announce ${String(i + 1).padStart(2)}: ${name}: ${(e as Error).message}`);
      }
      await sleep(400);
    }
    // Every announcement's 5 s gratuitous window is over: were any IPs announced by two nodes?
    await sleep(5500);
  } finally {
    stopListening();
    watchAbort.abort();
    await ctx.probe.call({ op: 'arp-capture', on: false }).catch(() => undefined);
  }
  let twoSenders = 0;
  for (const ip of ipsSeen) {
    const macs = new Set(garps.filter((e) => e.ip === ip).map((e) => ctx.macToNode[e.mac] ?? e.mac));
    if (macs.size > 1) {
      twoSenders++;
      console.log(`announce: ${ip} had gratuitous ARP from ${[...macs].join(' and ')}`);
    }
  }
  const a = stats(fromIngress);
  const c = stats(fromCreate);
  console.log(`announce: ${fromIngress.length}/${ANNOUNCES} Services; ingress seen by a watch -> first gratuitous ARP at the client: p50 ${a.p50.toFixed(0)} ms, p99 ${a.p99.toFixed(0)} ms`);
  console.log(`announce: Service created -> first gratuitous ARP at the client: p50 ${c.p50.toFixed(0)} ms, p99 ${c.p99.toFixed(0)} ms; ${twoSenders} IPs were announced by more than one node`);
  return {
    services: fromIngress.length, missed,
    ingressToGarpP50Ms: a.p50, ingressToGarpP99Ms: a.p99, createToGarpP50Ms: c.p50, createToGarpP99Ms: c.p99, ipsWithTwoSenders: twoSenders,
  };
}

/** Series of metallb_speaker_announced for the rss Services; NaN when the endpoint did not answer within 5 s. */
function announcedSeries(ctx: Ctx, node: string): number {
  return announcedServices(ctx, node, 'rss-')?.size ?? NaN;
}

/** Services (by name) whose name starts with `prefix` that the node's speaker says it announces; undefined if its metrics did not answer. */
function announcedServices(ctx: Ctx, node: string, prefix: string): Set<string> | undefined {
  const ns = ctx.net.nodes.find((n) => n.name === node)?.namespace as string;
  const r = spawnSync('ip', ['netns', 'exec', ns, 'curl', '-sS', '-m', '5', 'http://127.0.0.1:7472/metrics'], { encoding: 'utf8', maxBuffer: 256 << 20 });
  if (r.status !== 0) return undefined;
  const names = new Set<string>();
  const marker = `service="${NS}/${prefix}`;
  for (const l of r.stdout.split('\n')) {
    if (!l.startsWith('metallb_speaker_announced{')) continue;
    const at = l.indexOf(marker);
    if (at >= 0) names.add(l.slice(at + marker.length - prefix.length, l.indexOf('"', at + marker.length)));
  }
  return names;
}

/**
 * rss Services the speaker's log says it announces now ("announcing" minus later "withdrawing"):
 * the same desired state as the metric, for when the metrics endpoint does not answer.
 */
function announcedFromLog(log: string): Set<string> {
  const now = new Set<string>();
  let text = '';
  try {
    text = readFileSync(log, 'utf8');
  } catch {
    return now;
  }
  for (const line of text.split('\n')) {
    if (!line.includes(`"service":"${NS}/rss-`)) continue;
    const announcing = line.includes('"msg":"announcing"');
    if (!announcing && !line.includes('"msg":"withdrawing"')) continue;
    const service = /"service":"([^"]+)"/.exec(line)?.[1] ?? '';
    if (announcing) now.add(service);
    else now.delete(service);
  }
  return now;
}

/** User + system CPU seconds of a process so far. */
function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100; // utime, stime in clock ticks (USER_HZ 100)
  } catch {
    return NaN;
  }
}

/** ServiceL2Status objects of the rss Services: how many, for how many Services, most for one Service. */
async function rssL2Statuses(ctx: Ctx): Promise<{ objects: number; services: number; maxPerService: number }> {
  const list = (await ctx.custom.listNamespacedCustomObject({
    group: 'metallb.io', version: 'v1beta1', namespace: METALLB_NAMESPACE, plural: 'servicel2statuses', labelSelector: `metallb.io/service-namespace=${NS}`,
  })) as { items: { metadata?: { labels?: Record<string, string> } }[] };
  const per = new Map<string, number>();
  for (const o of list.items) {
    const name = o.metadata?.labels?.['metallb.io/service-name'] ?? '';
    if (name.startsWith('rss-')) per.set(name, (per.get(name) ?? 0) + 1);
  }
  const counts = [...per.values()];
  return { objects: counts.reduce((a, b) => a + b, 0), services: per.size, maxPerService: counts.length ? Math.max(...counts) : 0 };
}

async function benchRss(ctx: Ctx): Promise<Record<string, number>> {
  const node = 'lab-node-1';
  const speakers = ctx.net.nodes.map((n) => speakerProcess(ctx.dir, n.name));
  const mine = speakerProcess(ctx.dir, node);
  const idle = speakers.map((p) => statusKiB(p.pid, 'VmRSS'));
  const cpuBefore = speakers.map((p) => cpuSeconds(p.pid));
  // No IPv4 Service changes during this part, so every gratuitous ARP the client sees for the
  // failover/announce VIPs is a node (re)claiming one: ownership churn caused by the load.
  const vips = new Set<string>();
  for (const svc of (await ctx.core.listNamespacedService({ namespace: NS })).items) {
    for (const i of svc.status?.loadBalancer?.ingress ?? []) if (i.ip && !i.ip.includes(':')) vips.add(i.ip);
  }
  const churn: GratuitousArpEvent[] = [];
  const stopListening = ctx.probe.onGarp((e) => {
    if (vips.has(e.ip)) churn.push(e);
  });
  await ctx.probe.call({ op: 'arp-capture', on: true });
  const before = announcedSeries(ctx, node);
  console.log(`rss: before, VmRSS ${speakers.map((p, i) => `${p.name} ${mib(idle[i] as number).toFixed(1)} MiB`).join(', ')} (${node} announces ${before} rss IPs)`);
  progress(`creating ${RSS_SERVICES} IPv6 Services (pool bench-rss 2001:db8:1::1000/118, announced only from ${node}), ${CREATE_CONCURRENCY} at a time`);
  const t0 = Date.now();
  let next = 0;
  await Promise.all(Array.from({ length: CREATE_CONCURRENCY }, async () => {
    while (next < RSS_SERVICES) {
      const name = `rss-${next++}`;
      await ctx.core.createNamespacedService({ namespace: NS, body: lbService(name, 'bench-rss', 'Cluster', 'IPv6') });
    }
  }));
  const createdMs = Date.now() - t0;
  let lastReport = 0;
  let count = 0;
  let fromLog = 0;
  let source = 'metrics';
  let scrapesUnanswered = 0;
  let scrapes = 0;
  // Bounded so the whole bench stays within a few minutes; "not reached" is reported, not hidden.
  const deadline = t0 + RSS_WAIT_MS;
  while (Date.now() < deadline) {
    count = announcedSeries(ctx, node);
    scrapes++;
    if (Number.isNaN(count)) scrapesUnanswered++;
    fromLog = announcedFromLog(mine.log).size;
    if (count >= RSS_SERVICES) break;
    if (Number.isNaN(count) && fromLog >= RSS_SERVICES) {
      source = 'log (metrics endpoint did not answer)';
      break;
    }
    if (Date.now() - lastReport > 10_000) {
      progress(`  ${node} announces ${Number.isNaN(count) ? '? (metrics endpoint did not answer within 5 s)' : count} of ${RSS_SERVICES} by its metrics, ${fromLog} by its log, after ${((Date.now() - t0) / 1000).toFixed(0)} s; VmRSS ${mib(statusKiB(mine.pid, 'VmRSS')).toFixed(0)} MiB`);
      lastReport = Date.now();
    }
    await sleep(2000);
  }
  const reached = count >= RSS_SERVICES || fromLog >= RSS_SERVICES;
  const allMs = Date.now() - t0;
  const atAll = statusKiB(mine.pid, 'VmRSS');
  // Then a while longer: the status writes may still be going on.
  const samples: number[] = [];
  for (let i = 0; i < 2; i++) {
    await sleep(5000);
    samples.push(statusKiB(mine.pid, 'VmRSS'));
  }
  stopListening();
  await ctx.probe.call({ op: 'arp-capture', on: false });
  const claimers = new Map<string, Set<string>>();
  for (const e of churn) claimers.set(e.ip, (claimers.get(e.ip) ?? new Set()).add(ctx.macToNode[e.mac] ?? e.mac));
  const owners = await l2Owners(ctx);
  const after = speakers.map((p) => statusKiB(p.pid, 'VmRSS'));
  const cpu = speakers.map((p, i) => cpuSeconds(p.pid) - (cpuBefore[i] as number));
  const hwm = statusKiB(mine.pid, 'VmHWM');
  const l2 = await rssL2Statuses(ctx);
  // Reachability of one IP the speaker says it announces (by its log: the metrics may not answer).
  const announcedNow = [...announcedFromLog(mine.log)].map((k) => k.split('/')[1] ?? '').sort((a, b) => Number(a.slice(4)) - Number(b.slice(4)));
  const sample = announcedNow[0];
  const first = sample ? await ingressIp(ctx, sample) : undefined;
  const reach = first ? curlFromClient(ctx.net, first, 80) : { ok: false, node: undefined, err: 'no IP' };
  // On failure: did neighbour discovery get an answer (speaker) or not (data path)? And is it only slow?
  const neighbourAfter = first && !reach.ok ? clientNeighbour(ctx.net, first) : undefined;
  if (neighbourAfter) spawnSync('ip', ['-n', ctx.net.clientNamespace, 'neigh', 'del', first as string, 'dev', 'eth0']); // a FAILED entry would fail the retry at once
  const retry = first && !reach.ok ? curlFromClient(ctx.net, first, 80, 8) : undefined;
  const phaseS = (Date.now() - t0) / 1000;
  console.log(`rss: ${RSS_SERVICES} Services created in ${(createdMs / 1000).toFixed(1)} s; ${reached ? `${node} announced all ${RSS_SERVICES} after ${(allMs / 1000).toFixed(1)} s (by its ${source})` : `NOT all announced within ${RSS_WAIT_MS / 1000} s: ${Number.isNaN(count) ? '?' : count} by the metrics, ${fromLog} by the log`}; ${scrapesUnanswered} of ${scrapes} metrics scrapes got no answer within 5 s`);
  console.log(`rss: ${mine.name} VmRSS ${mib(idle[0] as number).toFixed(1)} MiB idle, ${mib(atAll).toFixed(1)} MiB ${reached ? 'when all were announced' : 'at the deadline'}, ${samples.map((k) => mib(k).toFixed(0)).join(' / ')} MiB 5/10 s later (peak VmHWM ${mib(hwm).toFixed(1)} MiB)`);
  console.log(`rss: the other speakers (caching the same Services, announcing none of them): ${speakers.slice(1).map((p, i) => `${p.name} ${mib(idle[i + 1] as number).toFixed(1)} -> ${mib(after[i + 1] as number).toFixed(1)} MiB`).join(', ')}`);
  console.log(`rss: CPU seconds used in these ${phaseS.toFixed(0)} s: ${speakers.map((p, i) => `${p.name} ${(cpu[i] as number).toFixed(1)}`).join(', ')}`);
  console.log(`rss: ServiceL2Status objects for the rss Services: ${l2.objects} for ${l2.services} distinct Services (most for one Service: ${l2.maxPerService}); MetalLB keeps exactly one per announced Service`);
  console.log(`rss: curl http://[${first}]:80/ (${sample ?? 'no rss Service announced'}) from the client: ${reach.ok ? `answered by a pod on ${reach.node}` : `FAILED (${reach.err}); client neighbour entry then: ${neighbourAfter ? `${neighbourAfter.mac ?? 'no MAC'} ${neighbourAfter.state}` : 'none'}; after flushing it, again with 8 s: ${retry?.ok ? `answered by a pod on ${retry.node}` : `FAILED (${retry?.err})`}`}`);
  console.log(`rss: during the load the client saw gratuitous ARP for ${claimers.size} of the ${vips.size} unchanged IPv4 VIPs (${churn.length} frames)${claimers.size ? `: ${[...claimers].map(([ip, n]) => `${ip} from ${[...n].join('+')}`).join(', ')}` : ''}`);
  const multi = [...owners].filter(([name, nodes]) => !name.startsWith('rss-') && nodes.length > 1);
  const tally = (nodes: string[]) => [...new Set(nodes)].map((n) => `${n} x${nodes.filter((x) => x === n).length}`).join(', ');
  console.log(`rss: afterwards ${multi.length} of the failover/announce Services have ServiceL2Status objects of more than one node or several of one node${multi.length ? `: ${multi.slice(0, 6).map(([name, nodes]) => `${name} [${tally(nodes)}]`).join('; ')}${multi.length > 6 ? '; ...' : ''}` : ''}`);
  return {
    services: RSS_SERVICES, announcedByMetrics: count, announcedByLog: fromLog, allAnnounced: reached ? 1 : 0, allAnnouncedMs: reached ? allMs : NaN,
    metricsScrapesUnanswered: scrapesUnanswered, metricsScrapes: scrapes,
    idleMiB: mib(idle[0] as number), atAllAnnouncedMiB: mib(atAll), after10sMiB: mib(after[0] as number), peakMiB: mib(hwm),
    otherSpeakersIdleMiB: mib(((idle[1] ?? 0) + (idle[2] ?? 0)) / 2), otherSpeakersAfterMiB: mib(((after[1] ?? 0) + (after[2] ?? 0)) / 2),
    announcingSpeakerCpuSeconds: cpu[0] as number, otherSpeakersCpuSeconds: ((cpu[1] ?? 0) + (cpu[2] ?? 0)) / 2,
    l2StatusObjects: l2.objects, l2StatusServices: l2.services, l2StatusMaxPerService: l2.maxPerService,
    curlOk: reach.ok ? 1 : 0, curlRetryOk: retry?.ok ? 1 : 0,
    vipsReclaimedDuringLoad: claimers.size, gratuitousArpDuringLoad: churn.length, servicesWithSeveralL2StatusNodes: multi.length,
  };
}

/**
 * SPREAD_SERVICES IPv6 Services (ETP Cluster) that every node may announce: the election spreads
 * them over the three speakers. Times create -> every Service announced by exactly one speaker
 * (by the speakers' own metrics), and reports the split, duplicates, ServiceL2Status objects,
 * every speaker's RSS and CPU, and one Service answering the client.
 */
async function benchSpread(ctx: Ctx): Promise<Record<string, number>> {
  const speakers = ctx.net.nodes.map((n) => speakerProcess(ctx.dir, n.name));
  const idle = speakers.map((p) => statusKiB(p.pid, 'VmRSS'));
  const cpuBefore = speakers.map((p) => cpuSeconds(p.pid));
  progress(`creating ${SPREAD_SERVICES} IPv6 Services (pool bench-spread ${SPREAD_POOL}, every node may announce), ${CREATE_CONCURRENCY} at a time`);
  const t0 = Date.now();
  let next = 0;
  let createErrors = 0;
  const deadline = t0 + SPREAD_WAIT_MS;
  // Creation stops at the deadline (on 2 cores the API server's Service creates slow down as the
  // lab fills); what was created is then given SPREAD_SETTLE_MS to be announced, and the figures
  // say how many of the 10,000 were created.
  await Promise.all(Array.from({ length: CREATE_CONCURRENCY }, async () => {
    while (next < SPREAD_SERVICES && Date.now() < deadline) {
      const name = `spread-${next++}`;
      const body = lbService(name, 'bench-spread', 'Cluster', 'IPv6');
      body.spec!.allocateLoadBalancerNodePorts = false; // 10,000 Services would exhaust the 2,768 NodePorts
      await withRetries(() => ctx.core.createNamespacedService({ namespace: NS, body }), () => createErrors++);
      if (next % 1000 === 0) progress(`  ${next} created after ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    }
  }));
  const createdMs = Date.now() - t0;
  const created = Math.min(next, SPREAD_SERVICES);
  const settleUntil = Math.max(deadline, Date.now()) + (created < SPREAD_SERVICES ? SPREAD_SETTLE_MS : 0);
  let per: (Set<string> | undefined)[] = [];
  let union = new Set<string>();
  let duplicates = 0;
  let peak = idle.slice();
  let lastReport = 0;
  while (Date.now() < settleUntil) {
    per = ctx.net.nodes.map((n) => announcedServices(ctx, n.name, 'spread-'));
    peak = speakers.map((p, i) => Math.max(peak[i] as number, statusKiB(p.pid, 'VmRSS')));
    union = new Set(per.flatMap((s) => [...(s ?? [])]));
    duplicates = per.reduce((a, s) => a + (s?.size ?? 0), 0) - union.size;
    if (union.size >= created && duplicates === 0 && per.every(Boolean)) break;
    if (Date.now() - lastReport > 15_000) {
      progress(`  announced ${union.size}/${created} created (${per.map((s, i) => `${ctx.net.nodes[i]?.name} ${s?.size ?? '?'}`).join(', ')}; ${duplicates} on two nodes) after ${((Date.now() - t0) / 1000).toFixed(0)} s`);
      lastReport = Date.now();
    }
    await sleep(2000);
  }
  const allMs = Date.now() - t0;
  const reached = union.size >= created && duplicates === 0;
  await sleep(10_000); // status writes may still be going on
  const after = speakers.map((p) => statusKiB(p.pid, 'VmRSS'));
  const hwm = speakers.map((p) => statusKiB(p.pid, 'VmHWM'));
  const cpu = speakers.map((p, i) => cpuSeconds(p.pid) - (cpuBefore[i] as number));
  const l2 = (await ctx.custom.listNamespacedCustomObject({
    group: 'metallb.io', version: 'v1beta1', namespace: METALLB_NAMESPACE, plural: 'servicel2statuses', labelSelector: `metallb.io/service-namespace=${NS}`,
  })) as { items: { metadata?: { labels?: Record<string, string> } }[] };
  const l2Spread = l2.items.filter((o) => (o.metadata?.labels?.['metallb.io/service-name'] ?? '').startsWith('spread-')).length;
  const sample = [...(per[0] ?? [])][0];
  const ip = sample ? await ingressIp(ctx, sample) : undefined;
  const reach = ip ? curlFromClient(ctx.net, ip, 80, 8) : { ok: false, node: undefined, err: 'no IP' };
  const counts = per.map((s) => s?.size ?? NaN);
  console.log(`spread: ${created} of ${SPREAD_SERVICES} Services created in ${(createdMs / 1000).toFixed(1)} s (${(created / (createdMs / 1000)).toFixed(1)}/s, ${createErrors} retried errors${created < SPREAD_SERVICES ? '; creation stopped at the deadline' : ''}); ${reached ? `all ${created} announced by exactly one speaker after ${(allMs / 1000).toFixed(1)} s` : `NOT all announced in time: ${union.size} of ${created} announced, ${duplicates} by two speakers`}`);
  console.log(`spread: per speaker ${ctx.net.nodes.map((n, i) => `${n.name} ${counts[i]}`).join(', ')}; ServiceL2Status objects ${l2Spread}`);
  console.log(`spread: speaker VmRSS ${speakers.map((p, i) => `${p.name} ${mib(idle[i] as number).toFixed(0)} -> ${mib(after[i] as number).toFixed(0)} MiB (peak ${mib(Math.max(hwm[i] as number, peak[i] as number)).toFixed(0)})`).join(', ')}; CPU s ${cpu.map((c) => c.toFixed(1)).join(', ')}`);
  console.log(`spread: curl http://[${ip}]:80/ (${sample ?? 'none announced'}) from the client: ${reach.ok ? `answered by a pod on ${reach.node}` : `FAILED (${reach.err})`}`);
  return {
    services: SPREAD_SERVICES, created, createErrors, createRatePerS: created / (createdMs / 1000), createdS: createdMs / 1000,
    announced: union.size, announcedBySeveral: duplicates, allAnnounced: reached ? 1 : 0, allAnnouncedS: reached ? allMs / 1000 : NaN,
    minPerSpeaker: Math.min(...counts), maxPerSpeaker: Math.max(...counts), l2StatusObjects: l2Spread,
    speakerRssIdleMaxMiB: mib(Math.max(...idle)), speakerRssAfterMaxMiB: mib(Math.max(...after)), speakerRssPeakMaxMiB: mib(Math.max(...hwm, ...peak)),
    speakerCpuSecondsMax: Math.max(...cpu), curlOk: reach.ok ? 1 : 0,
  };
}

export async function benchLayer2(): Promise<Record<string, number>> {
  return withBenchLab('layer2', progress, async ({ dir, onTeardown }) => {
    const state = await labUp({ dir, progress, nodes: 3 });
    const net = state.network;
    if (!net) throw new Error('the lab came up without its network');
    if (!state.processes.some((p) => p.name.startsWith('ironlb-speaker@'))) throw new Error('the lab has no speakers (ironlb speaker missing from this build?)');
    const kc = loadKubeConfig(state.kubeconfig);
    const probe = new ClientProbe(net.clientNamespace);
    onTeardown(() => probe.stop());
    await probe.call({ op: 'ping' }, 10_000);
    const ctx: Ctx = {
      dir, state, net, core: kc.makeApiClient(CoreV1Api), custom: kc.makeApiClient(CustomObjectsApi), probe,
      macToNode: Object.fromEntries(net.nodes.map((n) => [n.mac, n.name])), nodeToMac: Object.fromEntries(net.nodes.map((n) => [n.name, n.mac])),
    };
    await deployWeb(ctx);
    const results: Record<string, number> = {};
    const put = (prefix: string, r: Record<string, number>) => {
      for (const [k, v] of Object.entries(r)) results[`${prefix}.${k}`] = v;
    };
    const parts: [string, (c: Ctx) => Promise<Record<string, number>>][] = [['failover', benchFailover], ['announce', benchAnnounce], ['rss', benchRss], ['spread', benchSpread]];
    for (const [name, part] of parts) {
      if (!PARTS.has(name)) continue;
      const t = Date.now();
      put(name, await part(ctx));
      progress(`${name} part took ${((Date.now() - t) / 1000).toFixed(0)} s`);
    }
    return results;
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const r = await benchLayer2();
  console.log(JSON.stringify(r, null, 2));
}
