// The lab's network: one LAN (a bridge in a "switch" namespace), one namespace per node and a
// client namespace, all built from veths created inside the switch namespace with the peer sent
// straight into its namespace, so nothing of the lab ever exists in the host's own namespace
// (recipe and measurements: shared/spec/network-testbed.md §2).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { isRunning, sleep, startDetached, type TrackedProcess } from './processes.js';

/** Every namespace of every lab starts with this; `lab down` only ever touches names under its own prefix. */
export const LAB_NAME_PREFIX = 'ironlb-';
export const LAN_IPV4 = '192.0.2.0/24';
export const LAN_IPV6 = '2001:db8:1::/64';
/** Seed 002's underlay subnet: the client reaches it on-link, as a host on that VLAN would, so it ARPs for the VIPs. */
export const CLIENT_ON_LINK = ['10.180.204.0/24'];
export const BRIDGE = 'br0';
export const NODE_INTERFACE = 'eth0';
/** Pod ranges are /28s of 198.51.100.0/24 (node k: 198.51.100.16k/28), so at most 14 nodes. */
export const MAX_NODES = 14;
export const PODS_PER_NODE = 14;

export interface LabNodeNetwork {
  readonly name: string;
  readonly index: number;
  readonly namespace: string;
  /** The node's end of the LAN: eth0 inside the node namespace. */
  readonly interface: string;
  /** Its peer inside the switch namespace, enslaved to the bridge. */
  readonly switchPort: string;
  readonly mac: string;
  /** IPv4 then IPv6. */
  readonly addresses: readonly [string, string];
  /** IPv4 then IPv6; pods of the node get addresses from these. */
  readonly podCidrs: readonly [string, string];
}

export interface LabNetwork {
  /** Derived from the lab directory so that two labs on one machine never share a name. */
  readonly prefix: string;
  readonly switchNamespace: string;
  readonly bridge: string;
  readonly clientNamespace: string;
  readonly clientMac: string;
  readonly clientAddresses: readonly [string, string];
  readonly lan: readonly [string, string];
  readonly nodes: readonly LabNodeNetwork[];
  /**
   * With `lab up --router`: a router namespace on the LAN, and the client moved behind it on a
   * link of its own (so it reaches external IPs only through BGP-learned routes).
   */
  readonly router?: LabRouterNetwork;
}

/** The router's place in the network (router.ts runs the daemon). */
export interface LabRouterNetwork {
  readonly namespace: string;
  /** Router end of the LAN (eth0, enslaved in the switch as port `router`). */
  readonly lanInterface: string;
  readonly lanSwitchPort: string;
  readonly lanMac: string;
  /** IPv4 then IPv6 on the LAN: the address speakers peer with. */
  readonly lanAddresses: readonly [string, string];
  /** Router end of the client link. */
  readonly clientInterface: string;
  readonly clientMac: string;
  /** IPv4 then IPv6 of the router on the client link (the client's default gateways). */
  readonly clientLinkAddresses: readonly [string, string];
  /** The client link's prefixes, IPv4 then IPv6; nodes route them via the router. */
  readonly clientLink: readonly [string, string];
}

/**
 * Client link behind the router: 198.51.100.0/28 is the one /28 of 198.51.100.0/24 the pod
 * ranges never use (node k takes 198.51.100.16k/28, k >= 1); 2001:db8:3::/64 is outside the LAN
 * (2001:db8:1::/64) and pod (2001:db8:2::/48) ranges. 203.0.113.0/24 stays free for BGP VIPs.
 */
export const ROUTER_CLIENT_LINK: readonly [string, string] = ['198.51.100.0/28', '2001:db8:3::/64'];
export const ROUTER_LAN_ADDRESSES: readonly [string, string] = ['192.0.2.1', '2001:db8:1::1'];

export function nodeName(index: number): string {
  return `lab-node-${index}`;
}

/** `ironlb-<4 hex of the lab directory>-`: stable for a directory, different between directories. */
export function namespacePrefix(dir: string): string {
  return `${LAB_NAME_PREFIX}${createHash('sha256').update(resolve(dir)).digest('hex').slice(0, 4)}-`;
}

/** Node k (1-based) pod ranges: 198.51.100.16k/28 and 2001:db8:2:k::/64. */
export function podCidrsFor(index: number): [string, string] {
  return [`198.51.100.${index * 16}/28`, `2001:db8:2:${index.toString(16)}::/64`];
}

/** The lab's addressing plan; pure. `withRouter` moves the client behind a router namespace. */
export function planLabNetwork(dir: string, nodeCount: number, withRouter = false): LabNetwork {
  if (!Number.isInteger(nodeCount) || nodeCount < 1 || nodeCount > MAX_NODES) {
    throw new Error(`--nodes ${nodeCount}: the lab supports 1 to ${MAX_NODES} nodes (each gets a /28 of 198.51.100.0/24 for its pods)`);
  }
  const prefix = namespacePrefix(dir);
  const nodes: LabNodeNetwork[] = [];
  for (let k = 1; k <= nodeCount; k++) {
    nodes.push({
      name: nodeName(k), index: k, namespace: `${prefix}n${k}`, interface: NODE_INTERFACE, switchPort: `n${k}`,
      mac: labMac(k), addresses: [`192.0.2.${10 + k}`, `2001:db8:1::${10 + k}`], podCidrs: podCidrsFor(k),
    });
  }
  const base = {
    prefix, switchNamespace: `${prefix}sw`, bridge: BRIDGE, clientNamespace: `${prefix}client`, clientMac: labMac(100),
    lan: [LAN_IPV4, LAN_IPV6] as const, nodes,
  };
  if (!withRouter) return { ...base, clientAddresses: ['192.0.2.100', '2001:db8:1::100'] };
  return {
    ...base,
    clientAddresses: ['198.51.100.2', '2001:db8:3::2'],
    router: {
      namespace: `${prefix}rt`, lanInterface: NODE_INTERFACE, lanSwitchPort: 'router', lanMac: labMac(0xfe), lanAddresses: ROUTER_LAN_ADDRESSES,
      clientInterface: 'eth1', clientMac: labMac(0xfd), clientLinkAddresses: ['198.51.100.1', '2001:db8:3::1'], clientLink: ROUTER_CLIENT_LINK,
    },
  };
}

/** Locally administered MACs that read as their host: 02:49:4c ("IL") + host number. */
function labMac(host: number): string {
  return `02:49:4c:00:00:${host.toString(16).padStart(2, '0')}`;
}

// Nodes answer ARP only for addresses on the receiving interface (arp_ignore=1) and use the
// interface's own address in their ARP requests (arp_announce=2): a VIP on lo or a pod IP is
// then answered by nobody but the speaker (testbed §3.4). They route pod traffic between each
// other (forwarding). IPv6 addresses survive link down (testbed §2 pitfall) and no address waits
// for DAD, so link-local sends work at once (testbed §3.3 pitfall). A node forwarding a client's
// packet back out of eth0 sends no ICMP redirect: redirects draw on the same per-host ICMP token
// bucket as the port-unreachable of a Service without endpoints, which then went missing, and
// that reject is not rate limited at all, so a test sees it every time.
const NODE_SYSCTLS = [
  'net.ipv4.conf.all.arp_ignore=1', 'net.ipv4.conf.default.arp_ignore=1',
  'net.ipv4.conf.all.arp_announce=2', 'net.ipv4.conf.default.arp_announce=2',
  'net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1',
  'net.ipv4.conf.all.send_redirects=0', 'net.ipv4.conf.default.send_redirects=0',
  'net.ipv4.icmp_ratelimit=0', 'net.ipv6.icmp.ratelimit=0',
  'net.ipv6.conf.all.keep_addr_on_down=1', 'net.ipv6.conf.default.keep_addr_on_down=1',
  'net.ipv6.conf.all.accept_dad=0', 'net.ipv6.conf.default.accept_dad=0',
];
// The client keeps the kernel's neighbour defaults (arp_accept=0, drop_unsolicited_na=0): what a
// real host on the LAN does with gratuitous ARP / unsolicited NA is what the tests measure.
const CLIENT_SYSCTLS = ['net.ipv6.conf.all.accept_dad=0', 'net.ipv6.conf.default.accept_dad=0'];
// The switch is a plain L2 segment: no addresses, no IPv6 chatter of its own.
const SWITCH_SYSCTLS = ['net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1'];
// The router forwards between the client link and the LAN; an L4 multipath hash spreads the
// client's connections over the next hops of an ECMP route (the L3 default sends all of one
// client's traffic to one node, testbed §5.1).
const ROUTER_SYSCTLS = [
  'net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1',
  'net.ipv4.fib_multipath_hash_policy=1', 'net.ipv6.fib_multipath_hash_policy=1',
  'net.ipv6.conf.all.keep_addr_on_down=1', 'net.ipv6.conf.default.keep_addr_on_down=1',
  'net.ipv6.conf.all.accept_dad=0', 'net.ipv6.conf.default.accept_dad=0',
];

/** Runs one command; throws with the command and its stderr. */
export function run(command: string, args: readonly string[], input?: string): string {
  const res = spawnSync(command, args, { encoding: 'utf8', input });
  if (res.error) throw new Error(`${command} ${args.join(' ')}: ${res.error.message}`);
  if (res.status !== 0) throw new Error(`${command} ${args.join(' ')} failed: ${(res.stderr || res.stdout).trim()}`);
  return res.stdout;
}

function ipIn(ns: string, ...args: string[]): void {
  run('ip', ['-n', ns, ...args]);
}

function sysctlIn(ns: string, settings: readonly string[]): void {
  run('ip', ['netns', 'exec', ns, 'sysctl', '-q', '-w', ...settings]);
}

function addNamespace(ns: string, created: string[]): void {
  run('ip', ['netns', 'add', ns]);
  created.push(ns);
  ipIn(ns, 'link', 'set', 'lo', 'up');
}

/** Plugs `ns` into the LAN: veth created in the switch namespace, peer `eth0` moved straight into `ns`. */
function attach(net: LabNetwork, ns: string, port: string, mac: string, addresses: readonly [string, string]): void {
  ipIn(net.switchNamespace, 'link', 'add', port, 'type', 'veth', 'peer', 'name', NODE_INTERFACE, 'address', mac, 'netns', ns);
  ipIn(net.switchNamespace, 'link', 'set', port, 'master', net.bridge, 'up');
  ipIn(ns, 'link', 'set', NODE_INTERFACE, 'up');
  ipIn(ns, 'addr', 'add', `${addresses[0]}/24`, 'dev', NODE_INTERFACE);
  ipIn(ns, 'addr', 'add', `${addresses[1]}/64`, 'dev', NODE_INTERFACE, 'nodad');
}

/**
 * Creates the switch, client and node namespaces with their links, addresses, sysctls and the
 * routes between nodes' pod ranges. On failure removes what it created and rethrows.
 */
export function createLabNetwork(net: LabNetwork): void {
  const existing = labNamespaces(net.prefix);
  if (existing.length) throw new Error(`network namespaces ${existing.join(', ')} already exist; run 'ironlb lab down' for this lab directory first`);
  const created: string[] = [];
  try {
    addNamespace(net.switchNamespace, created);
    sysctlIn(net.switchNamespace, SWITCH_SYSCTLS);
    // Without snooping the bridge floods multicast like a dumb switch: NDP to solicited-node
    // groups reaches every port regardless of MLD state.
    ipIn(net.switchNamespace, 'link', 'add', net.bridge, 'type', 'bridge', 'mcast_snooping', '0');
    ipIn(net.switchNamespace, 'link', 'set', net.bridge, 'up');

    addNamespace(net.clientNamespace, created);
    sysctlIn(net.clientNamespace, CLIENT_SYSCTLS);
    if (net.router) {
      createRouterLinks(net, net.router, created);
    } else {
      attach(net, net.clientNamespace, 'client', net.clientMac, net.clientAddresses);
      for (const cidr of CLIENT_ON_LINK) ipIn(net.clientNamespace, 'route', 'add', cidr, 'dev', NODE_INTERFACE, 'scope', 'link');
    }

    for (const node of net.nodes) {
      addNamespace(node.namespace, created);
      sysctlIn(node.namespace, NODE_SYSCTLS);
      attach(net, node.namespace, node.switchPort, node.mac, node.addresses);
    }
    for (const node of net.nodes) {
      for (const other of net.nodes) {
        if (other === node) continue;
        ipIn(node.namespace, 'route', 'add', other.podCidrs[0], 'via', other.addresses[0], 'dev', NODE_INTERFACE);
        ipIn(node.namespace, '-6', 'route', 'add', other.podCidrs[1], 'via', other.addresses[1], 'dev', NODE_INTERFACE);
      }
      // Answers to the client (behind the router) go back through the router.
      if (net.router) {
        ipIn(node.namespace, 'route', 'add', net.router.clientLink[0], 'via', net.router.lanAddresses[0], 'dev', NODE_INTERFACE);
        ipIn(node.namespace, '-6', 'route', 'add', net.router.clientLink[1], 'via', net.router.lanAddresses[1], 'dev', NODE_INTERFACE);
      }
    }
  } catch (e) {
    for (const ns of created.reverse()) spawnSync('ip', ['netns', 'del', ns]);
    throw e;
  }
}

/**
 * The router namespace on the LAN (eth0) and the client behind it: a veth created in the router
 * namespace whose peer lands in the client namespace as eth0; the client's default routes point
 * at the router.
 */
function createRouterLinks(net: LabNetwork, rt: LabRouterNetwork, created: string[]): void {
  addNamespace(rt.namespace, created);
  sysctlIn(rt.namespace, ROUTER_SYSCTLS);
  attach(net, rt.namespace, rt.lanSwitchPort, rt.lanMac, rt.lanAddresses);
  ipIn(rt.namespace, 'link', 'add', rt.clientInterface, 'address', rt.clientMac, 'type', 'veth', 'peer', 'name', NODE_INTERFACE, 'address', net.clientMac, 'netns', net.clientNamespace);
  ipIn(rt.namespace, 'link', 'set', rt.clientInterface, 'up');
  ipIn(rt.namespace, 'addr', 'add', `${rt.clientLinkAddresses[0]}/${prefixLength(rt.clientLink[0])}`, 'dev', rt.clientInterface);
  ipIn(rt.namespace, 'addr', 'add', `${rt.clientLinkAddresses[1]}/${prefixLength(rt.clientLink[1])}`, 'dev', rt.clientInterface, 'nodad');
  ipIn(net.clientNamespace, 'link', 'set', NODE_INTERFACE, 'up');
  ipIn(net.clientNamespace, 'addr', 'add', `${net.clientAddresses[0]}/${prefixLength(rt.clientLink[0])}`, 'dev', NODE_INTERFACE);
  ipIn(net.clientNamespace, 'addr', 'add', `${net.clientAddresses[1]}/${prefixLength(rt.clientLink[1])}`, 'dev', NODE_INTERFACE, 'nodad');
  ipIn(net.clientNamespace, 'route', 'add', 'default', 'via', rt.clientLinkAddresses[0], 'dev', NODE_INTERFACE);
  ipIn(net.clientNamespace, '-6', 'route', 'add', 'default', 'via', rt.clientLinkAddresses[1], 'dev', NODE_INTERFACE);
}

function prefixLength(cidr: string): string {
  return cidr.slice(cidr.indexOf('/') + 1);
}

/** Namespaces under `prefix` that exist now (from /run/netns via `ip netns list`). */
export function labNamespaces(prefix: string): string[] {
  const res = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  if (res.status !== 0) return [];
  return res.stdout.split('\n').map((l) => l.split(' ')[0] ?? '').filter((n) => n.startsWith(prefix) && prefix.startsWith(LAB_NAME_PREFIX));
}

/** PIDs of every process whose network namespace is `ns`. */
export function pidsInNamespace(ns: string): number[] {
  const res = spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' });
  if (res.status !== 0) return [];
  return res.stdout.split('\n').map((l) => Number.parseInt(l, 10)).filter((p) => Number.isInteger(p) && p > 0);
}

/**
 * Kills every process left in the lab's namespaces (pod servers orphaned by a crashed agent,
 * anything a test started) and deletes the namespaces; their veths and the bridge go with them.
 * Works from the directory alone, so a lab whose state file is partial or gone is still cleaned.
 */
export async function removeLabNetwork(dir: string): Promise<string[]> {
  const namespaces = labNamespaces(namespacePrefix(dir));
  const pids = () => namespaces.flatMap(pidsInNamespace);
  let left = pids();
  for (const pid of left) signal(pid, 'SIGTERM');
  for (let i = 0; i < 40 && left.length; i++) {
    await sleep(50);
    left = pids().filter(alive);
  }
  for (const pid of left) signal(pid, 'SIGKILL');
  for (const ns of namespaces) spawnSync('ip', ['netns', 'del', ns]);
  return namespaces;
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    /* gone already */
  }
}

function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** A lab process that runs inside a network namespace. */
export interface NamespacedProcess extends TrackedProcess {
  readonly netns?: string;
  /** Environment added to the lab's own (OVS daemons find their run directory through it). */
  readonly extraEnv?: Readonly<Record<string, string>>;
}

/**
 * Starts `command` inside `ns` through `ip netns exec`, which execs the command in place: the PID
 * is the command's, and /proc/<pid>/cmdline shows `command` (absolute path) once exec is done.
 */
export function startInNamespace(ns: string, name: string, command: string, args: string[], log: string, extraEnv?: Readonly<Record<string, string>>): NamespacedProcess {
  const p = startDetached(name, 'ip', ['netns', 'exec', ns, command, ...args], log, extraEnv ? { ...process.env, ...extraEnv } : undefined);
  return { ...p, command, args, netns: ns, ...(extraEnv ? { extraEnv } : {}) };
}

/** Restarts a tracked process where it ran before (namespace included). */
export function restartTracked(p: NamespacedProcess): NamespacedProcess {
  return p.netns ? startInNamespace(p.netns, p.name, p.command, [...p.args], p.log, p.extraEnv) : startDetached(p.name, p.command, [...p.args], p.log);
}

/** Waits until `ip netns exec` has exec'd the command (so isRunning sees it) or it has died. */
export async function waitExecuted(p: NamespacedProcess, timeoutMs = 5000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (isRunning(p)) return true;
    if (!alive(p.pid)) return false;
    await sleep(20);
  }
  return isRunning(p);
}

/** Runs a command inside a namespace and returns its stdout. */
export function runIn(ns: string, command: string, args: readonly string[], input?: string): string {
  return run('ip', ['netns', 'exec', ns, command, ...args], input);
}
