// `ironlb lab agent`: runs inside one node namespace of the lab and stands in for the two node
// components a load balancer depends on, so ordinary manifests work in the lab:
// - kubelet: registers the Node, renews its Lease, and for every Pod bound to the node gives it
//   addresses from the node's pod ranges (on `lo`: this kernel has no dummy devices), runs
//   podServer.ts for it and reports it Running and Ready, so kube-controller-manager builds real
//   EndpointSlices; a deleted Pod is stopped, its addresses removed and the object released;
// - kube-proxy: one nftables table translating LoadBalancer external IPs to endpoints
//   (proxyRules.ts).
// Level-triggered like the rest of ironlb: every event schedules one pass over everything.
import { CoordinationV1Api, CoreV1Api, PatchStrategy, V1MicroTime, setHeaderOptions, type V1EndpointSlice, type V1Node, type V1Pod, type V1Service } from '@kubernetes/client-node';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import { arch, release } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cidrContains, formatIp, parseCidr, parseIp, type Cidr } from '../net/address.js';
import { loadKubeConfig } from '../k8s/client.js';
import { loadKubeRest } from '../k8s/rest.js';
import { apiStatusCode, describeApiError } from '../k8s/apiErrors.js';
import { Reflector, objectKey } from '../k8s/reflector.js';
import { makeLogger, type Logger } from '../log.js';
import { podServerArgs } from './podServer.js';
import { PROXY_TABLE, proxyServicePorts, renderProxyTable } from './proxyRules.js';

export interface NodeAgentOptions {
  readonly nodeName: string;
  readonly kubeconfig: string;
  /** Per-node files: the ready marker, pod server logs. */
  readonly stateDir: string;
  /** IPv4 then IPv6: addresses of the node's LAN interface (the Node's InternalIPs). */
  readonly hostIPs: readonly string[];
  /** The node's pod ranges; pod k gets host number k of each. */
  readonly podCidrs: readonly string[];
  readonly lanInterface: string;
  readonly logLevel: string;
}

/** What the lab agent reports as the node's size; pods = addresses of one pod range. */
export const NODE_CAPACITY = { cpu: '4', memory: '8Gi', pods: '14' } as const;
const LEASE_NAMESPACE = 'kube-node-lease';
const LEASE_SECONDS = 40;
const LEASE_RENEW_MS = 10_000;
const NODE_STATUS_MS = 5 * 60_000;
const RESTART_BACKOFF_MS = 1000;
const CONTAINER_RUNTIME = 'ironlb-lab';

/** The ports a Pod's process serves: agnhost `netexec` flags when present, else declared container ports. */
export function podServePorts(pod: V1Pod): { tcp: number[]; udp: number[] } {
  const tcp = new Set<number>();
  const udp = new Set<number>();
  for (const c of pod.spec?.containers ?? []) {
    const argv = [...(c.command ?? []), ...(c.args ?? [])];
    if (argv.includes('netexec')) {
      // agnhost netexec defaults: HTTP 8080, UDP 8081; -1 or 0 turns one off.
      const flag = (name: string, dflt: number) => {
        for (let i = 0; i < argv.length; i++) {
          const a = argv[i] ?? '';
          if (a === `--${name}` || a === `-${name}`) return Number(argv[i + 1]);
          if (a.startsWith(`--${name}=`) || a.startsWith(`-${name}=`)) return Number(a.slice(a.indexOf('=') + 1));
        }
        return dflt;
      };
      const http = flag('http-port', 8080);
      const u = flag('udp-port', 8081);
      if (Number.isInteger(http) && http > 0 && http < 65536) tcp.add(http);
      if (Number.isInteger(u) && u > 0 && u < 65536) udp.add(u);
      continue;
    }
    for (const p of c.ports ?? []) {
      const proto = p.protocol ?? 'TCP';
      if (proto === 'TCP') tcp.add(p.containerPort);
      else if (proto === 'UDP') udp.add(p.containerPort);
    }
  }
  return { tcp: [...tcp].sort((a, b) => a - b), udp: [...udp].sort((a, b) => a - b) };
}

/** Host number `slot` of each pod range (slot 1 = first usable address). */
export function podAddresses(ranges: readonly Cidr[], slot: number): string[] {
  return ranges.map((r) => formatIp(r.family, r.first + BigInt(slot)));
}

/** The slot an address has in the ranges, if it belongs to them (reused after an agent restart). */
export function slotOf(ranges: readonly Cidr[], address: string): number | undefined {
  const ip = parseIp(address);
  if (!ip) return undefined;
  for (const r of ranges) {
    if (cidrContains(r, ip.family, ip.value)) {
      const slot = Number(ip.value - r.first);
      return slot >= 1 && slot <= maxSlot(r) ? slot : undefined;
    }
  }
  return undefined;
}

function maxSlot(r: Cidr): number {
  // IPv4 /28: .1-.14 (not network, not broadcast); the same numbers in the IPv6 /64.
  return Math.min(Number(NODE_CAPACITY.pods), r.family === 4 ? Number(r.last - r.first) - 1 : Number(NODE_CAPACITY.pods));
}

interface DesiredPodStatus {
  readonly ips: readonly string[];
  readonly ready: boolean;
  readonly restarts: number;
}

/** True when the Pod already shows what we would write (nothing to patch). */
export function podStatusMatches(pod: V1Pod, want: DesiredPodStatus): boolean {
  const s = pod.status;
  if (s?.phase !== 'Running') return false;
  const ips = (s.podIPs ?? []).map((p) => p.ip);
  if (ips.join(',') !== want.ips.join(',')) return false;
  const ready = s.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
  if (ready !== want.ready) return false;
  const statuses = s.containerStatuses ?? [];
  return statuses.length === (pod.spec?.containers ?? []).length && statuses.every((c) => c.ready === want.ready && c.restartCount === want.restarts);
}

/** A strategic-merge patch of pods/status that makes the Pod Running with its IPs (and Ready if serving). */
export function runningPodStatusPatch(pod: V1Pod, hostIPs: readonly string[], want: DesiredPodStatus, startedAt: string): object {
  const now = new Date().toISOString();
  const t = want.ready ? 'True' : 'False';
  const cond = (type: string, status: string) => ({ type, status, lastTransitionTime: now, ...(status === 'False' ? { reason: 'ContainersNotReady', message: 'the lab pod server is not listening' } : {}) });
  return {
    status: {
      phase: 'Running',
      hostIP: hostIPs[0], hostIPs: hostIPs.map((ip) => ({ ip })),
      podIP: want.ips[0], podIPs: want.ips.map((ip) => ({ ip })),
      startTime: pod.status?.startTime ?? startedAt,
      conditions: [cond('PodReadyToStartContainers', 'True'), cond('Initialized', 'True'), cond('ContainersReady', t), cond('Ready', t)],
      containerStatuses: (pod.spec?.containers ?? []).map((c) => ({
        name: c.name, image: c.image ?? '', imageID: '', containerID: `${CONTAINER_RUNTIME}://${pod.metadata?.uid ?? ''}/${c.name}`,
        ready: want.ready, started: want.ready, restartCount: want.restarts,
        state: want.ready ? { running: { startedAt } } : { waiting: { reason: 'ContainerCreating' } },
      })),
    },
  };
}

/** The Node object the agent registers (kubelet's self-registration, minus what the lab has no use for). */
export function labNodeObject(nodeName: string, hostIPs: readonly string[], podCidrs: readonly string[], readySince = new Date()): V1Node {
  const goArch = arch() === 'x64' ? 'amd64' : arch();
  return {
    apiVersion: 'v1', kind: 'Node',
    metadata: { name: nodeName, labels: { 'kubernetes.io/hostname': nodeName, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': goArch } },
    spec: { podCIDR: podCidrs[0], podCIDRs: [...podCidrs] },
    status: labNodeStatus(nodeName, hostIPs, readySince),
  };
}

function labNodeStatus(nodeName: string, hostIPs: readonly string[], readySince: Date): NonNullable<V1Node['status']> {
  const now = new Date();
  return {
    addresses: [...hostIPs.map((address) => ({ type: 'InternalIP', address })), { type: 'Hostname', address: nodeName }],
    capacity: { ...NODE_CAPACITY }, allocatable: { ...NODE_CAPACITY },
    conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'ironlb lab agent is running', lastHeartbeatTime: now, lastTransitionTime: readySince }],
    nodeInfo: {
      architecture: arch() === 'x64' ? 'amd64' : arch(), operatingSystem: 'linux', kernelVersion: release(), osImage: 'ironlb lab network namespace',
      kubeletVersion: 'ironlb-lab-agent', kubeProxyVersion: 'ironlb-lab-agent', containerRuntimeVersion: `${CONTAINER_RUNTIME}://0`,
      machineID: '', systemUUID: '', bootID: '',
    },
  };
}

interface RunningPod {
  readonly uid: string;
  readonly key: string;
  readonly slot: number;
  readonly addresses: string[];
  readonly startedAt: string;
  ports: { tcp: number[]; udp: number[] };
  child?: ChildProcess;
  exited?: Promise<void>;
  listening: boolean;
  restarts: number;
  restartAt: number;
  stopping: boolean;
}

const podServerScript = fileURLToPath(new URL('./podServer.js', import.meta.url));

export class NodeAgent {
  private readonly core: CoreV1Api;
  private readonly coordination: CoordinationV1Api;
  private readonly pods: Reflector<V1Pod>;
  private readonly services: Reflector<V1Service>;
  private readonly slices: Reflector<V1EndpointSlice>;
  private readonly ranges: Cidr[];
  private readonly running = new Map<string, RunningPod>();
  private readonly timers: NodeJS.Timeout[] = [];
  private podPassQueued = false;
  private podPassRunning = false;
  private proxyQueued = false;
  /** How long the last nftables apply took: the next one waits a multiple of it (see queueProxy). */
  private lastApplyMs = 0;
  private lastRuleset = '';
  private stopped = false;
  private lastSlot = 0;
  private readonly startedAt = new Date();

  constructor(private readonly opts: NodeAgentOptions, private readonly log: Logger) {
    const kc = loadKubeConfig(opts.kubeconfig);
    const rest = loadKubeRest(opts.kubeconfig);
    this.core = kc.makeApiClient(CoreV1Api);
    this.coordination = kc.makeApiClient(CoordinationV1Api);
    this.ranges = opts.podCidrs.map((c) => {
      const r = parseCidr(c);
      if (!r) throw new Error(`--pod-cidr ${c} is not a CIDR`);
      return r;
    });
    const fieldSelector = `spec.nodeName=${opts.nodeName}`;
    this.pods = new Reflector<V1Pod>({
      name: 'pods', path: '/api/v1/pods', api: rest, log, fieldSelector,
    });
    this.services = new Reflector<V1Service>({
      name: 'services', path: '/api/v1/services', api: rest, log,
    });
    this.slices = new Reflector<V1EndpointSlice>({
      name: 'endpointslices', path: '/apis/discovery.k8s.io/v1/endpointslices', api: rest, log,
    });
    this.pods.on(() => this.queuePodPass());
    this.services.on(() => this.queueProxy());
    this.slices.on(() => this.queueProxy());
  }

  async start(): Promise<void> {
    await this.registerNode();
    await this.renewLease();
    this.timers.push(setInterval(() => void this.renewLease(), LEASE_RENEW_MS));
    this.timers.push(setInterval(() => void this.registerNode(), NODE_STATUS_MS));
    for (const r of [this.pods, this.services, this.slices]) r.start();
    await Promise.all([this.pods.synced, this.services.synced, this.slices.synced]);
    this.applyProxy();
    await this.podPass();
    this.removeStrayAddresses();
    writeFileSync(join(this.opts.stateDir, 'agent.ready'), `${process.pid}\n`);
    this.log.info({ pods: this.running.size }, 'lab agent ready');
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    for (const r of [this.pods, this.services, this.slices]) r.stop();
    await Promise.all([...this.running.values()].map((rp) => this.stopServer(rp)));
  }

  // --- kubelet: the Node and its Lease ---

  private async registerNode(): Promise<void> {
    const node = labNodeObject(this.opts.nodeName, this.opts.hostIPs, this.opts.podCidrs, this.startedAt);
    try {
      await this.core.createNode({ body: node });
      this.log.info('registered Node');
    } catch (e) {
      if (apiStatusCode(e) !== 409) {
        this.log.warn({ err: describeApiError(e) }, 'registering the Node failed');
        return;
      }
      // Already registered (agent restart): refresh its status. A merge patch replaces the
      // lists whole; a strategic merge would fold the two InternalIPs into one (merge key "type").
      try {
        await this.core.patchNodeStatus({ name: this.opts.nodeName, body: { status: node.status } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
      } catch (e2) {
        this.log.warn({ err: describeApiError(e2) }, 'updating the Node status failed');
      }
    }
    await this.clearNotReadyTaint();
  }

  /**
   * The TaintNodesByCondition admission plugin taints every new Node not-ready; in a cluster the
   * node lifecycle controller lifts it once the kubelet reports Ready. The lab runs no such
   * controller, so the agent, which is what "Ready" means here, lifts it itself.
   */
  private async clearNotReadyTaint(): Promise<void> {
    try {
      const node = await this.core.readNode({ name: this.opts.nodeName });
      const taints = node.spec?.taints ?? [];
      const kept = taints.filter((t) => t.key !== 'node.kubernetes.io/not-ready' && t.key !== 'node.kubernetes.io/unreachable');
      if (kept.length === taints.length) return;
      await this.core.patchNode(
        { name: this.opts.nodeName, body: { metadata: { resourceVersion: node.metadata?.resourceVersion }, spec: { taints: kept.length ? kept : null } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
    } catch (e) {
      this.log.warn({ err: describeApiError(e) }, 'lifting the not-ready taint failed; retrying');
      setTimeout(() => void this.clearNotReadyTaint(), RESTART_BACKOFF_MS).unref();
    }
  }

  private async renewLease(): Promise<void> {
    const name = this.opts.nodeName;
    const spec = { holderIdentity: name, leaseDurationSeconds: LEASE_SECONDS, renewTime: new V1MicroTime() };
    try {
      const lease = await this.coordination.readNamespacedLease({ name, namespace: LEASE_NAMESPACE });
      await this.coordination.replaceNamespacedLease({ name, namespace: LEASE_NAMESPACE, body: { ...lease, spec: { ...lease.spec, ...spec } } });
    } catch (e) {
      if (apiStatusCode(e) !== 404) {
        this.log.debug({ err: describeApiError(e) }, 'renewing the node Lease failed');
        return;
      }
      try {
        await this.coordination.createNamespacedLease({ namespace: LEASE_NAMESPACE, body: { metadata: { name, namespace: LEASE_NAMESPACE }, spec } });
      } catch (e2) {
        this.log.debug({ err: describeApiError(e2) }, 'creating the node Lease failed');
      }
    }
  }

  // --- kubelet: Pods ---

  private queuePodPass(delayMs = 0): void {
    if (this.stopped) return;
    if (delayMs > 0) {
      setTimeout(() => this.queuePodPass(), delayMs).unref();
      return;
    }
    if (this.podPassQueued) return;
    this.podPassQueued = true;
    setImmediate(() => void this.podPass());
  }

  private async podPass(): Promise<void> {
    this.podPassQueued = false;
    if (this.podPassRunning || this.stopped) {
      if (!this.stopped) this.podPassQueued = true;
      return;
    }
    this.podPassRunning = true;
    try {
      const pods = this.pods.list();
      const present = new Set(pods.map((p) => p.metadata?.uid ?? ''));
      for (const rp of [...this.running.values()]) {
        // Gone without passing through Terminating (force delete, or the node was changed).
        if (!present.has(rp.uid)) await this.release(rp);
      }
      for (const pod of pods) {
        try {
          if (pod.metadata?.deletionTimestamp) await this.terminate(pod);
          else if (pod.status?.phase !== 'Succeeded' && pod.status?.phase !== 'Failed') await this.ensureRunning(pod);
        } catch (e) {
          this.log.warn({ pod: objectKey(pod), err: describeApiError(e) }, 'pod sync failed; retrying');
          this.queuePodPass(RESTART_BACKOFF_MS);
        }
      }
    } finally {
      this.podPassRunning = false;
      if (this.podPassQueued) {
        this.podPassQueued = false;
        this.queuePodPass();
      }
    }
  }

  private freeSlot(preferred: readonly string[]): number | undefined {
    const used = new Set([...this.running.values()].map((rp) => rp.slot));
    for (const ip of preferred) {
      const s = slotOf(this.ranges, ip);
      if (s !== undefined && !used.has(s)) {
        this.lastSlot = Math.max(this.lastSlot, s);
        return s;
      }
    }
    // Round robin like host-local IPAM: a deleted Pod's address is not handed out again at once,
    // so a stale connection or neighbour entry never reaches its successor.
    const max = Math.min(...this.ranges.map(maxSlot));
    for (let i = 0; i < max; i++) {
      const s = ((this.lastSlot + i) % max) + 1;
      if (!used.has(s)) {
        this.lastSlot = s;
        return s;
      }
    }
    return undefined;
  }

  private async ensureRunning(pod: V1Pod): Promise<void> {
    const uid = pod.metadata?.uid ?? '';
    let rp = this.running.get(uid);
    if (!rp) {
      // After an agent restart the Pod keeps the addresses it was reported with.
      const slot = this.freeSlot((pod.status?.podIPs ?? []).map((p) => p.ip));
      if (slot === undefined) {
        this.log.warn({ pod: objectKey(pod) }, `no free pod address on ${this.opts.nodeName} (${this.opts.podCidrs.join(', ')} are used up)`);
        return;
      }
      rp = { uid, key: objectKey(pod), slot, addresses: podAddresses(this.ranges, slot), startedAt: new Date().toISOString(), ports: podServePorts(pod), listening: false, restarts: 0, restartAt: 0, stopping: false };
      this.running.set(uid, rp);
      for (const a of rp.addresses) ip(['addr', 'replace', `${a}/${a.includes(':') ? 128 : 32}`, 'dev', 'lo']);
      const prior = pod.status?.containerStatuses?.[0]?.restartCount;
      if (prior) rp.restarts = prior;
      this.log.info({ pod: rp.key, addresses: rp.addresses, ports: rp.ports }, 'starting pod');
    }
    const serves = rp.ports.tcp.length + rp.ports.udp.length > 0;
    if (serves && !rp.child && Date.now() >= rp.restartAt) this.startServer(pod, rp);
    const want: DesiredPodStatus = { ips: rp.addresses, ready: !serves || rp.listening, restarts: rp.restarts };
    if (!podStatusMatches(pod, want)) {
      await this.core.patchNamespacedPodStatus(
        { name: pod.metadata?.name ?? '', namespace: pod.metadata?.namespace ?? '', body: runningPodStatusPatch(pod, this.opts.hostIPs, want, rp.startedAt) },
        setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
      );
    }
  }

  private startServer(pod: V1Pod, rp: RunningPod): void {
    const dir = join(this.opts.stateDir, 'pods');
    mkdirSync(dir, { recursive: true });
    const log = join(dir, `${pod.metadata?.namespace ?? ''}_${pod.metadata?.name ?? ''}.log`);
    const fd = openSync(log, 'a');
    const args = podServerArgs({ namespace: pod.metadata?.namespace ?? '', pod: pod.metadata?.name ?? '', node: this.opts.nodeName, addresses: rp.addresses, tcpPorts: rp.ports.tcp, udpPorts: rp.ports.udp });
    // Same process group as the agent: stopping the agent's group stops its Pods.
    const child = spawn(process.execPath, [podServerScript, ...args], { stdio: ['ignore', fd, fd, 'ipc'] });
    closeSync(fd);
    rp.child = child;
    rp.listening = false;
    rp.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    child.on('message', (m: { listening?: boolean }) => {
      if (m?.listening && rp.child === child) {
        rp.listening = true;
        this.queuePodPass();
      }
    });
    child.once('exit', (code, sig) => {
      if (rp.child !== child) return;
      rp.child = undefined;
      rp.listening = false;
      if (rp.stopping) return;
      // Like restartPolicy Always: count it, report not ready, start again after a pause.
      rp.restarts++;
      rp.restartAt = Date.now() + RESTART_BACKOFF_MS;
      this.log.warn({ pod: rp.key, code, signal: sig, log }, 'pod server exited; restarting');
      this.queuePodPass();
      this.queuePodPass(RESTART_BACKOFF_MS + 10);
    });
  }

  private async stopServer(rp: RunningPod): Promise<void> {
    rp.stopping = true;
    const child = rp.child;
    if (!child || !rp.exited) return;
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 2000);
    await rp.exited;
    clearTimeout(killer);
  }

  /** Stops the Pod's process and takes its addresses back. */
  private async release(rp: RunningPod): Promise<void> {
    await this.stopServer(rp);
    for (const a of rp.addresses) spawnSync('ip', ['addr', 'del', `${a}/${a.includes(':') ? 128 : 32}`, 'dev', 'lo']);
    this.running.delete(rp.uid);
    this.log.info({ pod: rp.key, addresses: rp.addresses }, 'pod stopped');
  }

  /** A Pod being deleted: stop it, then remove the object for good (what kubelet does after the containers stopped). */
  private async terminate(pod: V1Pod): Promise<void> {
    const uid = pod.metadata?.uid ?? '';
    const rp = this.running.get(uid);
    if (rp) await this.release(rp);
    try {
      await this.core.deleteNamespacedPod({ name: pod.metadata?.name ?? '', namespace: pod.metadata?.namespace ?? '', gracePeriodSeconds: 0, body: { gracePeriodSeconds: 0, preconditions: { uid } } });
    } catch (e) {
      if (apiStatusCode(e) !== 404 && apiStatusCode(e) !== 409) throw e;
    }
  }

  /** Pod addresses on lo that no running Pod owns (left by a crash) are removed once at start. */
  private removeStrayAddresses(): void {
    const res = spawnSync('ip', ['-j', 'addr', 'show', 'dev', 'lo'], { encoding: 'utf8' });
    if (res.status !== 0) return;
    const owned = new Set([...this.running.values()].flatMap((rp) => rp.addresses));
    const info = JSON.parse(res.stdout) as { addr_info?: { local: string; prefixlen: number }[] }[];
    for (const a of info.flatMap((i) => i.addr_info ?? [])) {
      if (slotOf(this.ranges, a.local) !== undefined && !owned.has(a.local)) spawnSync('ip', ['addr', 'del', `${a.local}/${a.prefixlen}`, 'dev', 'lo']);
    }
  }

  // --- kube-proxy ---

  private queueProxy(): void {
    if (this.proxyQueued || this.stopped) return;
    this.proxyQueued = true;
    // Coalesce bursts (a Deployment rollout touches many slices at once). The whole table is
    // rewritten each time, so with thousands of Services an apply costs seconds of nft CPU: wait
    // four times the last apply (at most 2 s) so the rewrites cannot take the machine.
    setTimeout(() => {
      this.proxyQueued = false;
      const started = performance.now();
      this.applyProxy();
      this.lastApplyMs = performance.now() - started;
    }, Math.max(20, Math.min(this.lastApplyMs * 4, 2_000)));
  }

  private applyProxy(): void {
    const ports = proxyServicePorts(this.opts.nodeName, this.services.list(), this.slices.list());
    const ruleset = renderProxyTable(ports, this.opts.lanInterface);
    if (ruleset === this.lastRuleset) return;
    const res = spawnSync('nft', ['-f', '-'], { input: ruleset, encoding: 'utf8' });
    if (res.status !== 0) {
      this.log.error({ err: (res.stderr || res.error?.message || '').trim(), table: PROXY_TABLE }, 'applying the nftables rules failed; retrying');
      setTimeout(() => this.queueProxy(), RESTART_BACKOFF_MS).unref();
      return;
    }
    this.lastRuleset = ruleset;
    this.log.debug({ servicePorts: ports.length }, 'nftables rules applied');
  }
}

function ip(args: string[]): void {
  const res = spawnSync('ip', args, { encoding: 'utf8' });
  if (res.status !== 0) throw new Error(`ip ${args.join(' ')} failed: ${(res.stderr || '').trim()}`);
}

/** The `ironlb lab agent` process: runs until SIGTERM, then stops its Pods. */
export async function runNodeAgent(opts: NodeAgentOptions): Promise<void> {
  const log = makeLogger('lab-agent', opts.logLevel).child({ node: opts.nodeName });
  mkdirSync(opts.stateDir, { recursive: true });
  const agent = new NodeAgent(opts, log);
  const stop = () => {
    void agent.stop().finally(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  await agent.start();
}
