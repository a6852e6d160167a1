// `lab up --router bird|frr|gobgp`: a router namespace on the LAN running a real BGP daemon that
// accepts a session from every node (speakers dial it, as MetalLB's speaker does) and installs
// what it learns into its kernel table as ECMP routes; the client sits behind it, so external IPs
// announced over BGP are reachable from the client only through those routes.
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run, runIn, startInNamespace, waitExecuted, type LabNetwork, type NamespacedProcess } from './network.js';
import { isRunning, sleep, tailOfLog } from './processes.js';
import { projectRoot } from './projectRoot.js';
import { BIRD, BIRDC, birdConfig, birdFiles } from './routers/bird.js';
import { FRR_DIR, VTYSH, frrBfddConfig, frrBgpdConfig, frrFiles, frrZebraConfig } from './routers/frr.js';
import { GOBGP, GOBGPD, GOBGP_API_HOST, GOBGP_API_PORT, gobgpConfig, gobgpFiles } from './routers/gobgp.js';
import { ROUTER_KINDS, type RouterCommands, type RouterDaemonSpec, type RouterKind } from './routers/types.js';

export { ROUTER_KINDS, type RouterKind } from './routers/types.js';

export const DEFAULT_ROUTER_ASN = 64512;
export const DEFAULT_NODE_ASN = 64513;
/** The pool the lab's default BGPAdvertisement announces (testbed: the BGP VIP range). */
export const ROUTER_POOL = '203.0.113.0/24';

/** What the lab state keeps about its router (and `lab up --json` prints). */
export interface LabRouterInfo {
  kind: RouterKind;
  namespace: string;
  asn: number;
  nodeAsn: number;
  /** Config, sockets, logs of the daemon(s). */
  dir: string;
  addresses: { lan: string[]; clientLink: string[] };
  interfaces: { lan: string; client: string };
  /** The client link's prefixes (the client has the other host address of each). */
  clientLink: string[];
  /** Sessions the router accepts (passively): node addresses, IPv4 and IPv6. */
  neighbors: { node: string; addresses: string[] }[];
  configFiles: string[];
  /** Names of the lab processes that make up the router. */
  processes: string[];
  commands: RouterCommands & { bfd?: string };
}

export function parseRouterKind(text: string): RouterKind {
  const kind = ROUTER_KINDS.find((k) => k === text);
  if (!kind) throw new Error(`--router ${text}: expected one of ${ROUTER_KINDS.join(', ')}`);
  return kind;
}

/** Short on purpose: unix socket paths (bird.ctl, FRR vty sockets) are limited to 107 bytes. */
export function routerRuntimeDir(prefix: string): string {
  return join(tmpdir(), `${prefix}router`);
}

export function routerDaemonSpec(network: LabNetwork, kind: RouterKind, asn = DEFAULT_ROUTER_ASN, nodeAsn = DEFAULT_NODE_ASN): RouterDaemonSpec {
  const rt = network.router;
  if (!rt) throw new Error('the lab network has no router namespace (planLabNetwork(dir, nodes, true))');
  for (const [flag, v] of [['--router-asn', asn], ['--node-asn', nodeAsn]] as const) {
    if (!Number.isInteger(v) || v < 1 || v > 4294967294) throw new Error(`${flag} ${v}: expected an AS number from 1 to 4294967294`);
  }
  return {
    kind, namespace: rt.namespace, dir: routerRuntimeDir(network.prefix), asn, nodeAsn,
    lanAddresses: rt.lanAddresses, lanInterface: rt.lanInterface,
    neighbors: network.nodes.map((n) => ({ node: n.name, index: n.index, addresses: n.addresses })),
    holdTime: 90, keepaliveTime: 30, restartTime: 120,
    bfd: { minRxMs: 100, minTxMs: 100, multiplier: 3 },
  };
}

export function routerInfo(network: LabNetwork, spec: RouterDaemonSpec): LabRouterInfo {
  const rt = network.router;
  if (!rt) throw new Error('the lab network has no router namespace');
  const ns = spec.namespace;
  const kernel = { kernelRoutes: `ip -n ${ns} -4 route show`, kernelRoutes6: `ip -n ${ns} -6 route show` };
  let configFiles: string[];
  let processes: string[];
  let commands: LabRouterInfo['commands'];
  if (spec.kind === 'bird') {
    const f = birdFiles(spec.dir);
    const birdc = `ip netns exec ${ns} ${BIRDC} -s ${f.socket}`;
    configFiles = [f.config];
    processes = ['router-bird'];
    commands = { sessions: `${birdc} show protocols`, routes: `${birdc} show route`, bfd: `${birdc} show bfd sessions`, ...kernel };
  } else if (spec.kind === 'frr') {
    const f = frrFiles(spec.dir);
    const vtysh = `ip netns exec ${ns} ${VTYSH} --vty_socket ${spec.dir}`;
    configFiles = [f.zebraConfig, f.bfddConfig, f.bgpdConfig];
    processes = ['router-zebra', 'router-bfdd', 'router-bgpd'];
    commands = {
      sessions: `${vtysh} -c 'show bgp summary'`, routes: `${vtysh} -c 'show bgp ipv4 unicast' -c 'show bgp ipv6 unicast'`,
      bfd: `${vtysh} -c 'show bfd peers'`, ...kernel,
    };
  } else {
    const f = gobgpFiles(spec.dir);
    const gobgp = `ip netns exec ${ns} ${GOBGP} -u ${GOBGP_API_HOST} -p ${GOBGP_API_PORT}`;
    configFiles = [f.config];
    processes = ['router-gobgpd', 'router-gobgp-routes'];
    commands = { sessions: `${gobgp} neighbor`, routes: `${gobgp} global rib -a ipv4; ${gobgp} global rib -a ipv6`, ...kernel };
  }
  return {
    kind: spec.kind, namespace: ns, asn: spec.asn, nodeAsn: spec.nodeAsn, dir: spec.dir,
    addresses: { lan: [...rt.lanAddresses], clientLink: [...rt.clientLinkAddresses] },
    interfaces: { lan: rt.lanInterface, client: rt.clientInterface },
    clientLink: [...rt.clientLink],
    neighbors: spec.neighbors.map((n) => ({ node: n.node, addresses: [...n.addresses] })),
    configFiles, processes, commands,
  };
}

/**
 * Writes the daemon's configuration, checks that it parses (the daemon's own dry run), starts the
 * daemon(s) in the router namespace and waits until they answer on their control socket/API.
 * On failure stops what it started and throws with the daemon's log.
 */
export async function startLabRouter(spec: RouterDaemonSpec, started: NamespacedProcess[]): Promise<void> {
  rmSync(spec.dir, { recursive: true, force: true });
  mkdirSync(spec.dir, { recursive: true });
  if (spec.kind === 'bird') await startBird(spec, started);
  else if (spec.kind === 'frr') await startFrr(spec, started);
  else await startGobgp(spec, started);
}

export function removeRouterRuntimeDir(prefix: string): boolean {
  const dir = routerRuntimeDir(prefix);
  if (!existsSync(dir)) return false;
  rmSync(dir, { recursive: true, force: true });
  return true;
}

async function waitUntil(what: string, procs: readonly NamespacedProcess[], ready: () => boolean, timeoutMs = 15_000): Promise<void> {
  for (const p of procs) await waitExecuted(p);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (ready()) return;
    const dead = procs.find((p) => !isRunning(p));
    if (dead) throw new Error(`${dead.name} exited while waiting for ${what}; last lines of ${dead.log}:\n${tailOfLog(dead.log)}`);
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs / 1000} s; see ${procs.map((p) => p.log).join(', ')}`);
    await sleep(50);
  }
}

function answers(ns: string, command: string, args: readonly string[]): boolean {
  try {
    runIn(ns, command, args);
    return true;
  } catch {
    return false;
  }
}

async function startBird(spec: RouterDaemonSpec, started: NamespacedProcess[]): Promise<void> {
  const f = birdFiles(spec.dir);
  writeFileSync(f.config, birdConfig(spec));
  runIn(spec.namespace, BIRD, ['-p', '-c', f.config]); // parse only: a config error fails here with BIRD's message
  const bird = startInNamespace(spec.namespace, 'router-bird', BIRD, ['-f', '-c', f.config, '-s', f.socket], f.stdout);
  started.push(bird);
  await waitUntil(`BIRD in ${spec.namespace} to answer on ${f.socket}`, [bird], () => existsSync(f.socket) && answers(spec.namespace, BIRDC, ['-s', f.socket, 'show', 'status']));
}

function frrIds(): { uid: number; gid: number } {
  return { uid: Number(run('id', ['-u', 'frr']).trim()), gid: Number(run('id', ['-g', 'frr']).trim()) };
}

async function startFrr(spec: RouterDaemonSpec, started: NamespacedProcess[]): Promise<void> {
  const f = frrFiles(spec.dir);
  const { uid, gid } = frrIds();
  // The daemons drop to user frr: their directory (sockets, pid files, logs) must be frr's.
  chmodSync(spec.dir, 0o755);
  chownSync(spec.dir, uid, gid);
  const write = (file: string, text: string) => {
    writeFileSync(file, text);
    chownSync(file, uid, gid);
  };
  write(f.zebraConfig, frrZebraConfig(spec));
  write(f.bfddConfig, frrBfddConfig(spec));
  write(f.bgpdConfig, frrBgpdConfig(spec));
  const common = ['--vty_socket', spec.dir, '-z', f.zserv, '-P', '0'];
  const daemon = (name: 'zebra' | 'bfdd' | 'bgpd', config: string, extra: string[] = []) => ({
    name, config, args: ['-f', config, '-i', join(spec.dir, `${name}.pid`), ...common, ...extra],
  });
  const daemons = [daemon('zebra', f.zebraConfig), daemon('bfdd', f.bfddConfig, ['--bfdctl', f.bfdctl]), daemon('bgpd', f.bgpdConfig)];
  // Dry run (-C): each daemon parses its configuration and exits; FRR exits 0 even on a bad line,
  // so its complaint ("No such command on config line N") is what tells.
  for (const d of daemons) {
    const r = spawnSync('ip', ['netns', 'exec', spec.namespace, `${FRR_DIR}/${d.name}`, '-C', ...d.args], { encoding: 'utf8', timeout: 20_000 });
    const complaint = `${r.stdout ?? ''}${r.stderr ?? ''}`.split('\n').filter((l) => /No such command|Unknown command|Command incomplete|Ambiguous command|not found/i.test(l));
    if (r.status !== 0 || complaint.length) throw new Error(`FRR ${d.name} rejects ${d.config}: ${complaint.join('; ') || `exit ${r.status}`}`);
  }
  for (const d of daemons) {
    const p = startInNamespace(spec.namespace, `router-${d.name}`, `${FRR_DIR}/${d.name}`, d.args, join(spec.dir, `${d.name}.stdout`));
    started.push(p);
    // bfdd and bgpd connect to zebra's socket at start; each waits for the one before it.
    const ready = d.name === 'zebra' ? f.zserv : join(spec.dir, `${d.name}.vty`);
    await waitUntil(`FRR ${d.name} in ${spec.namespace} to create ${ready}`, [p], () => existsSync(ready));
  }
  await waitUntil(`FRR bgpd in ${spec.namespace} to answer vtysh`, started, () => answers(spec.namespace, VTYSH, ['--vty_socket', spec.dir, '-c', 'show bgp summary']));
}

async function startGobgp(spec: RouterDaemonSpec, started: NamespacedProcess[]): Promise<void> {
  const f = gobgpFiles(spec.dir);
  writeFileSync(f.config, gobgpConfig(spec));
  runIn(spec.namespace, GOBGPD, ['-d', '-f', f.config]); // dry run: parses the configuration
  const gobgpd = startInNamespace(spec.namespace, 'router-gobgpd', GOBGPD,
    ['-f', f.config, '--api-hosts', `${GOBGP_API_HOST}:${GOBGP_API_PORT}`, '--pprof-disable', '-p'], f.log);
  started.push(gobgpd);
  await waitUntil(`gobgpd in ${spec.namespace} to answer on ${GOBGP_API_HOST}:${GOBGP_API_PORT}`, [gobgpd],
    () => answers(spec.namespace, GOBGP, ['-u', GOBGP_API_HOST, '-p', String(GOBGP_API_PORT), 'global']));
  const mirror = startInNamespace(spec.namespace, 'router-gobgp-routes', process.execPath, [
    join(projectRoot(), 'bin', 'ironlb.js'), 'lab', 'gobgp-routes', '--api', `${GOBGP_API_HOST}:${GOBGP_API_PORT}`,
  ], f.mirrorLog);
  started.push(mirror);
  await waitExecuted(mirror);
  await sleep(300);
  if (!isRunning(mirror)) throw new Error(`router-gobgp-routes exited at once; last lines of ${mirror.log}:\n${tailOfLog(mirror.log)}`);
}
