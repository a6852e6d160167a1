import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { LAB_SCENARIOS, defaultLabDir, kubectl, labDown, labUp, readLabState, summarize, type LabScenario, type LabState } from '../lab/lab.js';
import { projectRoot } from '../lab/projectRoot.js';
import { parseRouterKind } from '../lab/router.js';
import { sleep } from '../lab/processes.js';

const progress = (line: string) => process.stderr.write(`[lab] ${line}\n`);

function fail(e: unknown): never {
  process.stderr.write(`ironlb lab: ${(e as Error).message}\n`);
  process.exit(1);
}

/** `--nodes N`: 0 is the control plane alone, without the network. */
function nodeCount(text: string | undefined): number {
  const n = Number(text ?? '3');
  if (!Number.isInteger(n) || n < 0) fail(new Error(`--nodes ${text}: expected a whole number from 0 to 14`));
  return n;
}

function asNumber(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n)) fail(new Error(`${flag} ${text}: expected an AS number from 1 to 4294967294`));
  return n;
}

export async function runLabUp(flags: {
  dir?: string; json?: boolean; controller: boolean; nodes?: string; speakers: boolean; router?: string; routerAsn?: string; nodeAsn?: string; scenario?: string;
}): Promise<void> {
  const dir = flags.dir ?? defaultLabDir();
  try {
    const router = flags.router === undefined ? {} : {
      router: parseRouterKind(flags.router),
      ...(flags.routerAsn !== undefined ? { routerAsn: asNumber('--router-asn', flags.routerAsn) } : {}),
      ...(flags.nodeAsn !== undefined ? { nodeAsn: asNumber('--node-asn', flags.nodeAsn) } : {}),
    };
    if (flags.router === undefined && (flags.routerAsn !== undefined || flags.nodeAsn !== undefined)) throw new Error('--router-asn and --node-asn need --router bird|frr|gobgp');
    const scenario = flags.scenario === undefined ? {} : { scenario: parseScenario(flags.scenario) };
    const state = await labUp({ dir, progress, controller: flags.controller, nodes: nodeCount(flags.nodes), speakers: flags.speakers, ...router, ...scenario });
    if (flags.json) process.stdout.write(`${JSON.stringify(summarize(state), null, 2)}\n`);
    else {
      progress(`lab is up: apiserver ${state.apiserver}`);
      progress(`use: ${state.kubectl} --kubeconfig ${state.kubeconfig} get svc -A`);
      if (state.router) progress(`router ${state.router.kind} in ${state.router.namespace}: ${state.router.commands.sessions}`);
    }
  } catch (e) {
    fail(e);
  }
}

function parseScenario(text: string): LabScenario {
  const found = LAB_SCENARIOS.find((s) => s === text);
  if (!found) throw new Error(`--scenario ${text}: expected one of ${LAB_SCENARIOS.join(', ')}`);
  return found;
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
  else for (const p of s.processes) process.stdout.write(`${p.running ? 'running' : 'STOPPED'}  ${p.name} (pid ${p.pid})${p.netns ? ` in ${p.netns}` : ''}  log ${p.log}\n`);
}

/** Hidden: the per-node kubelet + kube-proxy stand-in, started by `lab up` inside a node namespace. */
export async function runLabAgent(flags: { nodeName: string; kubeconfig: string; stateDir: string; hostIp: string[]; podCidr: string[]; interface: string; logLevel: string }): Promise<void> {
  const { runNodeAgent } = await import('../lab/nodeAgent.js');
  try {
    await runNodeAgent({
      nodeName: flags.nodeName, kubeconfig: flags.kubeconfig, stateDir: flags.stateDir, hostIPs: flags.hostIp,
      podCidrs: flags.podCidr, lanInterface: flags.interface, logLevel: flags.logLevel,
    });
  } catch (e) {
    process.stderr.write(`ironlb lab agent: ${(e as Error).message}\n`);
    process.exit(1);
  }
}

/** Hidden: mirrors the lab router's GoBGP RIB into the router namespace's kernel table (gobgpd installs nothing itself). */
export async function runLabGobgpRoutes(flags: { api: string; intervalMs: string }): Promise<void> {
  const { runGobgpRouteMirror } = await import('../lab/routers/gobgpRoutes.js');
  const [host, port] = flags.api.split(/:(?=\d+$)/);
  const interval = Number(flags.intervalMs);
  if (!host || !port || !Number.isInteger(interval) || interval < 50) fail(new Error(`--api ${flags.api} --interval-ms ${flags.intervalMs}: expected HOST:PORT and at least 50 ms`));
  const log = (line: string) => process.stdout.write(`${new Date().toISOString()} ${line}\n`);
  try {
    await runGobgpRouteMirror({ apiHost: host, apiPort: Number(port), intervalMs: interval, log });
  } catch (e) {
    fail(e);
  }
}

/** Hidden: a byte forwarder (the API server tunnel); `lab up` runs the same code as dist/src/lab/tunnel.js. */
export async function runLabTunnel(flags: { listen: string; connect: string }): Promise<void> {
  const { runTunnel } = await import('../lab/tunnel.js');
  try {
    await runTunnel(flags);
  } catch (e) {
    fail(e);
  }
}

function inNamespace(ns: string, command: string[]): { ok: boolean; out: string; err: string } {
  const r = spawnSync('ip', ['netns', 'exec', ns, ...command], { encoding: 'utf8', timeout: 10_000 });
  return { ok: r.status === 0, out: r.stdout ?? '', err: (r.stderr ?? '').trim() };
}

interface PodAnswer { pod: string; node: string; podIP: string; client: string }

function parseAnswer(text: string): PodAnswer | undefined {
  try {
    const a = JSON.parse(text) as PodAnswer;
    return typeof a.pod === 'string' ? a : undefined;
  } catch {
    return undefined;
  }
}

/** The end of `npm start`: reach the Service like a user would, or say honestly why not yet. */
async function demoTraffic(state: LabState, ip: string): Promise<void> {
  const net = state.network;
  if (!net) return;
  const out = (line: string) => process.stdout.write(`${line}\n`);
  progress('waiting for the Deployment\'s pods to be Running and in the EndpointSlices');
  let ready: { ip: string; node: string; pod: string }[] = [];
  for (let i = 0; i < 240 && ready.length === 0; i++) {
    const slices = JSON.parse(kubectl(state, ['-n', 'default', 'get', 'endpointslices', '-l', 'kubernetes.io/service-name=nginx-lb', '-o', 'json'])) as {
      items: { addressType: string; endpoints?: { addresses: string[]; nodeName?: string; targetRef?: { name?: string }; conditions?: { ready?: boolean } }[] }[];
    };
    ready = slices.items.filter((s) => s.addressType === 'IPv4').flatMap((s) => s.endpoints ?? [])
      .filter((e) => e.conditions?.ready).map((e) => ({ ip: e.addresses[0] ?? '', node: e.nodeName ?? '', pod: e.targetRef?.name ?? '' }));
    if (!ready.length) await sleep(250);
  }
  process.stdout.write(kubectl(state, ['-n', 'default', 'get', 'pods', '-l', 'app=nginx', '-o', 'wide']));
  if (!ready.length) fail(new Error(`no ready endpoint for nginx-lb; see ${join(state.dir, 'logs')} (lab-agent-*.log, kube-scheduler.log)`));
  const speakers = state.processes.some((p) => p.name.startsWith('ironlb-speaker@'));
  if (speakers) {
    // Kube-OVN scenario: the client sits on VLAN 341 (tagged through Open vSwitch); otherwise on the LAN.
    const vlan = state.kubeOvn?.vlanClient;
    const clientNs = vlan?.namespace ?? net.clientNamespace;
    const clientAddress = vlan?.address ?? net.clientAddresses[0];
    let answer: PodAnswer | undefined;
    let last = '';
    for (let i = 0; i < 60 && !answer; i++) {
      const r = inNamespace(clientNs, ['curl', '-sS', '-m', '2', `http://${ip}/`]);
      answer = r.ok ? parseAnswer(r.out) : undefined;
      last = r.err || r.out;
      if (!answer) await sleep(250);
    }
    if (!answer) fail(new Error(`curl http://${ip}/ from the client namespace ${clientNs} got no answer (${last}); see ${join(state.dir, 'logs')}/speaker-*.log`));
    const owner = JSON.parse(kubectl(state, ['-n', 'metallb-system', 'get', 'servicel2statuses', '-l', 'metallb.io/service-name=nginx-lb', '-o', 'json'])) as { items: { status?: { node?: string; interfaces?: { name: string }[] } }[] };
    const announcers = owner.items.map((o) => `${o.status?.node ?? '?'}${o.status?.interfaces?.length ? ` on ${o.status.interfaces.map((x) => x.name).join(',')}` : ''}`);
    out(`\n${ip} is announced by ${announcers.join(' and ') || 'nobody (yet)'} (ServiceL2Status)`);
    out(`curl http://${ip}/ from the client (${clientAddress}, namespace ${clientNs}${vlan ? `, VLAN ${vlan.vlanId}` : ''}):`);
    out(`  answered by pod ${answer.pod} on node ${answer.node} (pod IP ${answer.podIP})`);
    out(`  the pod saw client address ${answer.client}${answer.client === clientAddress ? ' - the real client: externalTrafficPolicy Local kept it' : ''}`);
    const other = state.kubeOvn?.otherVlanClient;
    if (other) {
      const probe = inNamespace(other.namespace, ['arping', '-c', '2', '-w', '3', '-I', other.interface, ip]);
      out(`arping ${ip} from ${other.address} on VLAN ${other.vlanId} (namespace ${other.namespace}): ${probe.ok ? 'ANSWERED (VLAN isolation broken!)' : 'no answer - the VIP lives on VLAN ' + (vlan?.vlanId ?? '?') + ' only'}`);
    }
    return;
  }
  // Without a speaker nobody answers ARP for the external IP, so the client cannot reach it yet.
  const target = ready[0] as { ip: string; node: string; pod: string };
  const from = net.nodes.find((n) => n.name !== target.node) ?? net.nodes[0];
  if (!from) return;
  out(`\nno speaker yet: nothing answers ARP for ${ip}, so the client cannot reach it (ironlb speaker arrives with issue 3).`);
  out(`instead, from inside ${from.name} (namespace ${from.namespace}), curl the pod IP ${target.ip} of ${target.pod} on ${target.node}:`);
  const r = inNamespace(from.namespace, ['curl', '-sS', '-m', '3', `http://${target.ip}/`]);
  const a = r.ok ? parseAnswer(r.out) : undefined;
  if (!a) fail(new Error(`curl http://${target.ip}/ from ${from.namespace} failed: ${r.err || r.out}`));
  out(`  answered by pod ${a.pod} on node ${a.node}; the pod saw client address ${a.client} (${from.name}'s own address)`);
}

/** `npm start`: the lab plus the Kube-OVN seed scenario, ending with the Service's external IP. */
export async function runLabDemo(flags: { dir?: string; nodes?: string; scenario?: string }): Promise<void> {
  const dir = flags.dir ?? defaultLabDir();
  const scenarioName = flags.scenario ?? 'kube-ovn';
  if (scenarioName !== 'kube-ovn' && scenarioName !== 'lan') fail(new Error(`--scenario ${scenarioName}: use kube-ovn (VLAN 341 through Open vSwitch, the default) or lan (the plain LAN)`));
  try {
    const state = await labUp({ dir, progress, nodes: nodeCount(flags.nodes), ...(scenarioName === 'kube-ovn' ? { scenario: 'kube-ovn' as const } : {}) });
    const scenario = join(projectRoot(), 'e2e', 'scenarios', 'kube-ovn-seed');
    progress('applying the seed-002 IPAddressPool (10.180.204.250-10.180.204.254) and L2Advertisement');
    process.stderr.write(kubectl(state, ['apply', '-f', join(scenario, 'pool.yaml')]));
    if (state.network) {
      progress('applying the seed-002 Deployment default/deploy-169402624 (3 x agnhost netexec --http-port 80; the lab agents run them)');
      process.stderr.write(kubectl(state, ['apply', '-n', 'default', '-f', join(scenario, 'deployment.yaml')]));
    }
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
    await demoTraffic(state, ip.split(' ')[0] ?? ip);
    process.stdout.write(`the lab keeps running: ${state.kubectl} --kubeconfig ${state.kubeconfig} get svc -A\n`);
    process.stdout.write(`stop it with: node bin/ironlb.js lab down${flags.dir ? ` --dir ${flags.dir}` : ''}\n`);
  } catch (e) {
    fail(e);
  }
}
