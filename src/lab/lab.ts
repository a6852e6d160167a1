// `ironlb lab up|down|status`: the control plane, our manifests, and `ironlb controller`
// running as its own ServiceAccount (not admin), so RBAC mistakes show up in the lab. With
// nodes (the CLI's default), also the lab network (network.ts), kube-scheduler, the API server
// tunnel (tunnel.ts) and one agent per node (nodeAgent.ts: kubelet and kube-proxy stand-ins).
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { kubeconfigYaml, removeDir, startControlPlane, stopProcesses, waitForApiserver, type Progress } from './controlPlane.js';
import { CLIENT_ON_LINK, createLabNetwork, namespacePrefix, planLabNetwork, removeLabNetwork, restartTracked, startInNamespace, waitExecuted, type LabNetwork, type NamespacedProcess } from './network.js';
import { freeLoopbackPort, isRunning, sleep, startDetached, stopProcess, tailOfLog, type TrackedProcess } from './processes.js';
import { projectRoot } from './projectRoot.js';
import type { RouterDaemonSpec } from './routers/types.js';
import { ROUTER_POOL, removeRouterRuntimeDir, routerDaemonSpec, routerInfo, startLabRouter, type LabRouterInfo, type RouterKind } from './router.js';
import { NODE_APISERVER_PORT } from './tunnel.js';
import { createKubeOvnNetwork, KUBE_OVN_SUBNET, kubeOvnObjects, planKubeOvnNetwork, providerNetworkStatus, removeOvsRuntimeDir, subnetStatus, type LabKubeOvnNetwork } from './ovs.js';
import { parseAllDocuments } from 'yaml';

export const METALLB_NAMESPACE = 'metallb-system';

export interface LabState {
  readonly dir: string;
  readonly apiserver: string;
  readonly kubeconfig: string;
  readonly kubectl: string;
  readonly caFile: string;
  readonly controllerKubeconfig: string;
  readonly processes: NamespacedProcess[];
  readonly startedAt: string;
  /** Present when the lab has nodes. */
  readonly network?: LabNetwork;
  /** Host end of the API server tunnel (a unix socket). */
  readonly apiSocket?: string;
  /** Present with `lab up --router`. */
  readonly router?: LabRouterInfo;
  /** Present with `lab up --scenario kube-ovn`: OVS per node, VLAN 341 trunk, VLAN clients. */
  readonly kubeOvn?: LabKubeOvnNetwork;
}

/** What `lab up --json` prints (architecture.md contract; fields may be added, absent parts are left out). */
export interface LabSummary {
  kubeconfig: string;
  kubectl: string;
  apiserver: string;
  dir: string;
  namespaces?: { switch: string; client: string; nodes: Record<string, string>; router?: string };
  addresses?: { client: string[]; nodes: Record<string, string[]> };
  /** Everything about each node a test needs: namespace, LAN interface and MAC, addresses, pod ranges, kubeconfigs. */
  nodes?: Record<string, LabNodeSummary>;
  lan?: { bridge: string; cidrs: string[]; clientOnLink: string[] };
  /** With --router: the daemon, its namespace, ASNs, addresses and the commands to query it. */
  router?: LabRouterInfo;
  /** With --scenario kube-ovn: provider bridge, VLAN, OVSDB sockets per node, VLAN clients. */
  kubeOvn?: LabKubeOvnNetwork;
  processes: { name: string; pid: number; running: boolean; log: string; netns?: string }[];
}

export interface LabNodeSummary {
  namespace: string;
  interface: string;
  mac: string;
  addresses: string[];
  podCidrs: string[];
  /** Inside the node namespace: https://127.0.0.1:6443 as ServiceAccount metallb-system/speaker. */
  speakerKubeconfig: string;
  /** Inside the node namespace: https://127.0.0.1:6443 as admin (what the lab agent uses). */
  agentKubeconfig: string;
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
  const net = state.network;
  const byNode = <T>(f: (n: LabNetwork['nodes'][number]) => T) => Object.fromEntries((net?.nodes ?? []).map((n) => [n.name, f(n)]));
  return {
    kubeconfig: state.kubeconfig,
    kubectl: state.kubectl,
    apiserver: state.apiserver,
    dir: state.dir,
    ...(net
      ? {
          namespaces: {
            switch: net.switchNamespace, client: net.clientNamespace, nodes: byNode((n) => n.namespace),
            ...(net.router ? { router: net.router.namespace } : {}),
          },
          addresses: { client: [...net.clientAddresses], nodes: byNode((n) => [...n.addresses]) },
          nodes: byNode((n) => ({
            namespace: n.namespace, interface: n.interface, mac: n.mac, addresses: [...n.addresses], podCidrs: [...n.podCidrs],
            speakerKubeconfig: nodeFile(state.dir, n.name, 'speaker.kubeconfig'), agentKubeconfig: nodeFile(state.dir, n.name, 'agent.kubeconfig'),
          })),
          // Behind the router the client is on a link of its own: nothing of the LAN's VLAN is on-link.
          lan: { bridge: `${net.switchNamespace}/${net.bridge}`, cidrs: [...net.lan], clientOnLink: net.router ? [] : [...CLIENT_ON_LINK] },
        }
      : {}),
    ...(state.router ? { router: state.router } : {}),
    ...(state.kubeOvn ? { kubeOvn: state.kubeOvn } : {}),
    processes: state.processes.map((p) => ({ name: p.name, pid: p.pid, running: isRunning(p), log: p.log, ...(p.netns ? { netns: p.netns } : {}) })),
  };
}

export function nodeFile(dir: string, node: string, file: string): string {
  return join(dir, 'nodes', node, file);
}

export interface LabUpOptions {
  dir: string;
  progress: Progress;
  /** Start `ironlb controller` (default true). Tests that drive their own controller turn it off. */
  controller?: boolean;
  controllerArgs?: string[];
  /**
   * Number of nodes (network namespaces with Node objects, agents and speakers). 0, the default
   * here, is the light control-plane-only lab the e2e suite shares; `ironlb lab up` defaults to 3.
   */
  nodes?: number;
  /** Start `ironlb speaker` on each node when the command exists (default true). */
  speakers?: boolean;
  /** Extra arguments for every speaker (tests: e.g. a short --underlay-verify-after). */
  speakerArgs?: string[];
  /**
   * A router namespace running this BGP daemon, peered (passively) with every node, with the
   * client moved behind it; also applies the default BGPPeer `lab-router` and a BGP pool for
   * 203.0.113.0/24. Needs nodes.
   */
  router?: RouterKind;
  /** The router's ASN (default 64512). */
  routerAsn?: number;
  /** The nodes' ASN in the default BGPPeer and the router's neighbour config (default 64513; equal to routerAsn = iBGP). */
  nodeAsn?: number;
  /**
   * 'kube-ovn': user-space OVS in every node (br-provider, trunk NIC eth1, VLAN 341 internal
   * port), an OVS trunk in the switch, clients on VLAN 341 and 342, Kube-OVN node labels (ovs.ts).
   */
  scenario?: LabScenario;
}

export type LabScenario = 'kube-ovn';
export const LAB_SCENARIOS: readonly LabScenario[] = ['kube-ovn'];

export async function labUp(opts: LabUpOptions): Promise<LabState> {
  const { progress } = opts;
  const dir = resolve(opts.dir);
  const t0 = Date.now();
  if (opts.router && !opts.nodes) throw new Error(`--router ${opts.router} needs nodes to peer with: use --nodes 1 or more`);
  const network = opts.nodes ? planLabNetwork(dir, opts.nodes, Boolean(opts.router)) : undefined; // validates --nodes before anything starts
  // Validates the ASNs before anything starts, too.
  const routerSpec = network && opts.router ? routerDaemonSpec(network, opts.router, opts.routerAsn, opts.nodeAsn) : undefined;
  if (opts.scenario === 'kube-ovn' && !network) throw new Error('--scenario kube-ovn needs nodes to put Open vSwitch on: use --nodes 1 or more');
  const kubeOvn = network && opts.scenario === 'kube-ovn' ? planKubeOvnNetwork(network, dir) : undefined;
  const existing = readLabState(dir);
  if (existing) {
    if (existing.processes.every(isRunning)) {
      progress(`lab already running in ${dir}`);
      const had = existing.network?.nodes.length ?? 0;
      if (had !== (opts.nodes ?? 0)) progress(`note: it has ${had} nodes, not ${opts.nodes ?? 0}; run 'ironlb lab down' first to change that`);
      if (existing.router?.kind !== opts.router) progress(`note: it has ${existing.router ? `router ${existing.router.kind}` : 'no router'}; run 'ironlb lab down' first to change that`);
      return existing;
    }
    progress(`lab in ${dir} is partly stopped; restarting it`);
    await labDown(dir, progress);
  }
  mkdirSync(dir, { recursive: true });
  const cp = await startControlPlane(dir, progress);
  const processes: NamespacedProcess[] = [...cp.processes];
  const apiSocket = network ? apiSocketPath(dir, network) : undefined;
  const base: Omit<LabState, 'controllerKubeconfig' | 'processes'> = {
    dir, apiserver: cp.apiserver, kubeconfig: cp.kubeconfig, kubectl: cp.kubectl, caFile: cp.caFile,
    startedAt: new Date().toISOString(), ...(network ? { network, apiSocket } : {}),
    ...(network && routerSpec ? { router: routerInfo(network, routerSpec) } : {}),
    ...(kubeOvn ? { kubeOvn } : {}),
  };
  let controllerKubeconfig = '';
  const save = () => {
    const state: LabState = { ...base, controllerKubeconfig, processes };
    writeFileSync(statePath(dir), JSON.stringify(state, null, 2));
    return state;
  };
  save();
  try {
    progress('applying manifests: namespace, CRDs, RBAC');
    applyManifests(base);
    if (routerSpec) {
      progress(`applying the default BGPPeer lab-router (myASN ${routerSpec.nodeAsn}, peerASN ${routerSpec.asn}) and the BGP pool ${ROUTER_POOL}`);
      kubectl(base, ['apply', '--server-side', '--force-conflicts', '-f', '-'], routerManifests(routerSpec.asn, routerSpec.nodeAsn));
    }
    controllerKubeconfig = join(dir, 'controller.kubeconfig');
    const token = kubectl(base, ['-n', METALLB_NAMESPACE, 'create', 'token', 'controller', '--duration=8760h']).trim();
    writeFileSync(controllerKubeconfig, kubeconfigYaml(cp.apiserver, cp.caFile, 'system:serviceaccount:metallb-system:controller', token), { mode: 0o600 });
    save();
    // The agents take a second or two to come up; the controller and the speaker check overlap with that.
    const speakerCheck = network && opts.speakers !== false ? speakerCommandAvailable() : Promise.resolve(false);
    const agentsReady = network && apiSocket
      ? (await startNodes({ ...base, controllerKubeconfig, processes }, network, apiSocket, cp.adminToken, processes, save, progress, routerSpec)).ready
      : Promise.resolve();
    agentsReady.catch(() => {}); // awaited below; not an unhandled rejection meanwhile
    if (opts.controller !== false) {
      progress('starting ironlb controller as ServiceAccount metallb-system/controller');
      const ctl = startController(dir, controllerKubeconfig, opts.controllerArgs ?? []);
      processes.push(ctl);
      save();
      await sleep(500);
      if (!isRunning(ctl)) throw new Error(`ironlb controller exited at once:\n${tailOfLog(ctl.log)}`);
    }
    await agentsReady;
    if (kubeOvn) await setUpKubeOvn({ ...base, controllerKubeconfig, processes }, kubeOvn, processes, save, progress);
    if (network && opts.speakers !== false) {
      if (await speakerCheck) {
        progress('starting ironlb speaker in every node namespace as ServiceAccount metallb-system/speaker');
        processes.push(...(await startSpeakers(save(), opts.speakerArgs ?? [])));
      } else {
        progress('ironlb has no speaker command yet: nothing will answer ARP/NDP for external IPs');
      }
    }
    const state = save();
    progress(`lab up in ${((Date.now() - t0) / 1000).toFixed(1)} s${network ? ` with ${network.nodes.length} node${network.nodes.length === 1 ? '' : 's'}` : ''}`);
    return state;
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
  const fresh = restartTracked(old);
  if (fresh.netns) await waitExecuted(fresh);
  const next: LabState = { ...state, processes: state.processes.map((p) => (p === old ? fresh : p)) };
  writeFileSync(statePath(dir), JSON.stringify(next, null, 2));
  if (name === 'kube-apiserver') {
    const token = readFileSync(join(dir, 'tokens.csv'), 'utf8').split(',')[0] ?? '';
    await waitForApiserver(fresh, state.apiserver, state.caFile, token);
  }
}

export async function labDown(dirArg: string, progress: Progress): Promise<void> {
  const dir = resolve(dirArg);
  let state: LabState | undefined;
  try {
    state = readLabState(dir);
  } catch (e) {
    progress(`state file of ${dir} is unreadable (${(e as Error).message}); cleaning up by name`);
  }
  if (state) {
    progress(`stopping ${state.processes.length} lab processes`);
    await stopProcesses(state.processes);
  }
  // Also without (complete) state: the namespaces are named after the directory, and whatever
  // still runs inside them (pod servers of a crashed agent) is found through them.
  const removed = await removeLabNetwork(dir);
  if (removed.length) progress(`removed network namespaces ${removed.join(', ')}`);
  if (removeRouterRuntimeDir(namespacePrefix(dir))) progress('removed the router\'s runtime directory');
  if (removeOvsRuntimeDir(namespacePrefix(dir))) progress('removed the Open vSwitch runtime directory');
  // Processes started before the state file listed them (an interrupted `lab up`) name a file of
  // the directory in their arguments (data dir, kubeconfig, socket).
  const strays = processesUsing(dir);
  if (strays.length) {
    progress(`stopping ${strays.length} processes that use ${dir} but are not in its state: ${strays.map((p) => p.pid).join(' ')}`);
    await stopProcesses(strays);
  }
  if (state?.apiSocket) rmSync(state.apiSocket, { force: true });
  if (existsSync(dir)) {
    progress(`removing ${dir}`);
    removeDir(dir);
  }
}

/** Running processes (not this one or its parent) with an argument naming a file under `dir`. */
function processesUsing(dir: string): NamespacedProcess[] {
  const found: NamespacedProcess[] = [];
  let pids: string[] = [];
  try {
    pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return found;
  }
  for (const d of pids) {
    const pid = Number(d);
    if (pid === process.pid || pid === process.ppid) continue;
    try {
      const argv = readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0').filter(Boolean);
      if (argv.some((a) => a.includes(`${dir}/`))) found.push({ name: `pid ${pid}`, pid, command: argv[0] ?? '', args: argv.slice(1), log: '' });
    } catch {
      /* exited meanwhile */
    }
  }
  return found.filter(isRunning);
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

// --- nodes ---

/** The host end of the tunnel; unix socket paths are limited to 107 bytes, so long lab paths fall back to /tmp. */
function apiSocketPath(dir: string, network: LabNetwork): string {
  const inDir = join(dir, 'apiserver.sock');
  return inDir.length <= 100 ? inDir : join(tmpdir(), `${network.prefix}apiserver.sock`);
}

function nodeScript(file: string): string {
  return join(projectRoot(), 'dist', 'src', 'lab', file);
}

async function waitForFile(path: string, what: string, procs: readonly NamespacedProcess[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!existsSync(path)) {
    const dead = procs.find((p) => !isRunning(p));
    if (dead) throw new Error(`${dead.name} exited while waiting for ${what}; last lines of ${dead.log}:\n${tailOfLog(dead.log)}`);
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs / 1000} s; see ${procs.map((p) => p.log).join(', ')}`);
    await sleep(50);
  }
}

/**
 * The network, kube-scheduler, the API server tunnel, and per node its tunnel end and agent.
 * `ready` settles once every agent has registered its Node and applied its first rules.
 */
async function startNodes(
  state: LabState, network: LabNetwork, apiSocket: string, adminToken: string,
  processes: NamespacedProcess[], save: () => LabState, progress: Progress, routerSpec?: RouterDaemonSpec,
): Promise<{ ready: Promise<void> }> {
  const { dir } = state;
  const dist = nodeScript('tunnel.js');
  if (!existsSync(dist)) throw new Error(`${dist} is missing: run 'npm run build' first (the lab runs the compiled agents)`);

  // Namespaces are named after the directory: any still there belong to an earlier lab of this
  // directory whose state is gone (deleted by hand, or a crash before it was written).
  const leftovers = await removeLabNetwork(dir);
  if (leftovers.length) progress(`removed leftover namespaces of an earlier lab in ${dir}: ${leftovers.join(', ')}`);
  progress(`creating the lab network: switch ${network.switchNamespace}, client ${network.clientNamespace}, nodes ${network.nodes.map((n) => n.namespace).join(' ')}`);
  createLabNetwork(network);
  if (routerSpec) {
    progress(`starting the lab router: ${routerSpec.kind} in ${routerSpec.namespace} (AS ${routerSpec.asn}, passive towards ${network.nodes.length} node${network.nodes.length === 1 ? '' : 's'} in AS ${routerSpec.nodeAsn}); the client is behind it`);
    try {
      await startLabRouter(routerSpec, processes);
    } finally {
      save();
    }
  }

  const scheduler = join(dirname(state.kubectl), 'kube-scheduler');
  if (!existsSync(scheduler)) throw new Error(`${scheduler} is missing: run 'bash scripts/build-k8s-binaries.sh' (it builds kube-scheduler with the other binaries)`);
  progress('starting kube-scheduler');
  const schedPort = await freeLoopbackPort();
  processes.push(startDetached('kube-scheduler', scheduler, [
    `--kubeconfig=${state.kubeconfig}`, '--leader-elect=false', '--bind-address=127.0.0.1', `--secure-port=${schedPort}`, '--v=1',
  ], join(dir, 'logs', 'kube-scheduler.log')));

  const apiPort = new URL(state.apiserver).port;
  progress(`starting the API server tunnel: ${apiSocket} -> 127.0.0.1:${apiPort}, and 127.0.0.1:${NODE_APISERVER_PORT} -> it in every node namespace`);
  const hostTunnel = startDetached('apiserver-tunnel', process.execPath, [dist, '--listen', `unix:${apiSocket}`, '--connect', `tcp:127.0.0.1:${apiPort}`], join(dir, 'logs', 'apiserver-tunnel.log'));
  processes.push(hostTunnel);
  save();

  // One token for the speakers: a TokenRequest of ServiceAccount metallb-system/speaker.
  const speakerToken = kubectl(state, ['-n', METALLB_NAMESPACE, 'create', 'token', 'speaker', '--duration=8760h']).trim();
  const inNode = `https://127.0.0.1:${NODE_APISERVER_PORT}`;
  for (const n of network.nodes) {
    mkdirSync(join(dir, 'nodes', n.name), { recursive: true });
    writeFileSync(nodeFile(dir, n.name, 'speaker.kubeconfig'), kubeconfigYaml(inNode, state.caFile, 'system:serviceaccount:metallb-system:speaker', speakerToken), { mode: 0o600 });
    writeFileSync(nodeFile(dir, n.name, 'agent.kubeconfig'), kubeconfigYaml(inNode, state.caFile, 'admin', adminToken), { mode: 0o600 });
  }
  await waitForFile(apiSocket, 'the API server tunnel socket', [hostTunnel], 10_000);

  progress(`starting ${network.nodes.length} node agents (kubelet and kube-proxy stand-ins)`);
  const agents: NamespacedProcess[] = [];
  for (const n of network.nodes) {
    processes.push(startInNamespace(n.namespace, `apiserver-tunnel@${n.name}`, process.execPath,
      [dist, '--listen', `tcp:127.0.0.1:${NODE_APISERVER_PORT}`, '--connect', `unix:${apiSocket}`], join(dir, 'logs', `apiserver-tunnel-${n.name}.log`)));
    const agent = startInNamespace(n.namespace, `lab-agent@${n.name}`, process.execPath, [
      join(projectRoot(), 'bin', 'ironlb.js'), 'lab', 'agent', '--node-name', n.name, '--kubeconfig', nodeFile(dir, n.name, 'agent.kubeconfig'),
      '--state-dir', join(dir, 'nodes', n.name), '--interface', n.interface,
      ...n.addresses.flatMap((a) => ['--host-ip', a]), ...n.podCidrs.flatMap((c) => ['--pod-cidr', c]),
    ], join(dir, 'logs', `lab-agent-${n.name}.log`));
    processes.push(agent);
    agents.push(agent);
  }
  save();
  const ready = Promise.all(network.nodes.map(async (n, i) => {
    const agent = agents[i] as NamespacedProcess;
    await waitExecuted(agent);
    await waitForFile(nodeFile(dir, n.name, 'agent.ready'), `the lab agent of ${n.name} to register its Node`, [agent], 60_000);
  })).then(() => undefined);
  return { ready };
}

/**
 * The default BGPPeer `lab-router`, the pool 203.0.113.0/24 and its BGPAdvertisement
 * (e2e/scenarios/lab-router/bgp.yaml), with the lab's ASNs filled in.
 */
export function routerManifests(routerAsn: number, nodeAsn: number): string {
  const file = join(projectRoot(), 'e2e', 'scenarios', 'lab-router', 'bgp.yaml');
  const docs = parseAllDocuments(readFileSync(file, 'utf8'));
  for (const doc of docs) {
    if (doc.errors.length) throw new Error(`${file}: ${doc.errors[0]?.message}`);
    if (doc.get('kind') === 'BGPPeer') {
      doc.setIn(['spec', 'myASN'], nodeAsn);
      doc.setIn(['spec', 'peerASN'], routerAsn);
    }
  }
  return docs.map((d) => d.toString()).join('---\n');
}

/** Whether this build of ironlb has the `speaker` command (it arrives separately from the lab). */
export async function speakerCommandAvailable(): Promise<boolean> {
  return await new Promise((resolveAvailable) => {
    execFile(process.execPath, [join(projectRoot(), 'bin', 'ironlb.js'), 'speaker', '--help'], { encoding: 'utf8' }, (err, stdout) => {
      resolveAvailable(!err && stdout.includes('--node-name'));
    });
  });
}

/** Starts `ironlb speaker --node-name <node>` inside every node namespace, as ServiceAccount metallb-system/speaker. */
export async function startSpeakers(state: LabState, extraArgs: readonly string[] = []): Promise<NamespacedProcess[]> {
  const started: NamespacedProcess[] = [];
  for (const n of state.network?.nodes ?? []) {
    started.push(startInNamespace(n.namespace, `ironlb-speaker@${n.name}`, process.execPath, [
      join(projectRoot(), 'bin', 'ironlb.js'), 'speaker', '--node-name', n.name, '--kubeconfig', nodeFile(state.dir, n.name, 'speaker.kubeconfig'),
      // Each lab node has its own ovsdb-server (kube-ovn scenario); elsewhere the default socket just is not there.
      ...(state.kubeOvn?.nodes[n.name] ? ['--ovsdb', state.kubeOvn.nodes[n.name]!.ovs.endpoint] : []),
      ...extraArgs,
    ], join(state.dir, 'logs', `speaker-${n.name}.log`)));
  }
  for (const p of started) await waitExecuted(p);
  await sleep(500);
  const dead = started.find((p) => !isRunning(p));
  if (dead) throw new Error(`${dead.name} exited at once; last lines of ${dead.log}:\n${tailOfLog(dead.log)}`);
  return started;
}

/**
 * --scenario kube-ovn after the nodes registered: the OVS part of the network, Kube-OVN's node
 * labels, and (when manifests/kube-ovn has the kubeovn.io CRDs) the ProviderNetwork, Vlan and
 * Subnet with the ProviderNetwork's status.
 */
async function setUpKubeOvn(state: LabState, plan: LabKubeOvnNetwork, processes: NamespacedProcess[], save: () => LabState, progress: Progress): Promise<void> {
  progress(`Open vSwitch (user space) in ${Object.keys(plan.nodes).length + 1} namespaces: ${plan.bridge} with ${plan.vlanId} tagged on every node, trunk0 in the switch, VLAN clients ${plan.vlanClient.namespace} (${plan.vlanId}) and ${plan.otherVlanClient.namespace} (${plan.otherVlanClient.vlanId})`);
  try {
    await createKubeOvnNetwork(plan, join(state.dir, 'logs'), processes);
  } finally {
    save();
  }
  for (const [node, labels] of Object.entries(plan.nodeLabels)) {
    kubectl(state, ['label', 'node', node, '--overwrite', ...Object.entries(labels).map(([k, v]) => `${k}=${v}`)]);
  }
  const crds = join(projectRoot(), 'manifests', 'kube-ovn');
  const crdFiles = existsSync(crds) ? readdirSync(crds).filter((f) => /crd/i.test(f) && /\.ya?ml$/.test(f)) : [];
  if (!crdFiles.length) {
    progress(`no kubeovn.io CRDs in ${crds}: the ProviderNetwork, Vlan and Subnet objects are left out (node labels and OVSDB are in place)`);
    return;
  }
  progress(`applying the kubeovn.io CRDs (${crdFiles.join(', ')}) and ProviderNetwork ${plan.provider}, Vlan, Subnet`);
  for (const f of crdFiles) {
    kubectl(state, ['apply', '--server-side', '--force-conflicts', '-f', join(crds, f)]);
    kubectl(state, ['wait', '--for=condition=Established', '--timeout=60s', '-f', join(crds, f)]);
  }
  kubectl(state, ['apply', '--server-side', '--force-conflicts', '-f', '-'], kubeOvnObjects(plan));
  kubectl(state, ['patch', 'provider-networks.kubeovn.io', plan.provider, '--subresource=status', '--type=merge', '-p', providerNetworkStatus(plan)]);
  kubectl(state, ['patch', 'subnets.kubeovn.io', KUBE_OVN_SUBNET, '--subresource=status', '--type=merge', '-p', subnetStatus()]);
}

/**
 * The ValidatingWebhookConfiguration of manifests/webhook.yaml for a controller the lab API
 * server reaches directly: both run in the host namespace, so each webhook calls
 * https://127.0.0.1:<port><path> (`url:` clientConfig) instead of the Service, and the
 * controller must name 127.0.0.1 in its certificate (--webhook-cert-ip 127.0.0.1). The caBundle
 * is left out: the controller writes it.
 */
export function labWebhookConfiguration(port: number, name = 'metallb-webhook-configuration'): string {
  const file = join(projectRoot(), 'manifests', 'webhook.yaml');
  const doc = parseAllDocuments(readFileSync(file, 'utf8')).find((d) => d.get('kind') === 'ValidatingWebhookConfiguration');
  if (!doc) throw new Error(`${file} has no ValidatingWebhookConfiguration`);
  const vwc = doc.toJS() as { metadata: { name: string }; webhooks: { clientConfig: { service?: { path?: string }; url?: string } }[] };
  vwc.metadata.name = name;
  for (const w of vwc.webhooks) {
    w.clientConfig = { url: `https://127.0.0.1:${port}${w.clientConfig.service?.path ?? '/'}` };
  }
  return JSON.stringify(vwc);
}
