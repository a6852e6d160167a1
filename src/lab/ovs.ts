// `lab up --scenario kube-ovn`: the node wiring kube-ovn-cni builds for a ProviderNetwork
// (kube-ovn-underlay spec §3.1), in user-space Open vSwitch (datapath_type=netdev: the kernel has
// neither the OVS module nor 8021q, network-testbed §4):
//
//   client <prefix>vc (VLAN 341) --vc--+                         +--t1-- eth1 [node 1: br-provider]
//   client <prefix>vx (VLAN 342) --vx--+-- trunk0 (switch ns) ---+--t2-- eth1 [node 2: br-provider]
//
// Every node namespace runs its own ovsdb-server + ovs-vswitchd (socket under the lab dir), with
// bridge br-provider holding the trunk NIC eth1 (trunks 0,341) and the VLAN internal port of
// VLAN 341 (tag 341, a tap in the node namespace), Open_vSwitch external_ids ovn-bridge-mappings
// provider:br-provider, and Kube-OVN's node labels. The lab's untagged LAN (eth0, br0) stays as
// it is for everything else. Namespaces that own an OVS datapath have no addresses on its ports:
// their kernel would answer on the veth itself, bypassing OVS (testbed §4.2 pitfall).
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { vlanInternalPortName, providerLabel } from '../vlan/resolve.js';
import { run, runIn, startInNamespace, waitExecuted, type LabNetwork, type NamespacedProcess } from './network.js';
import { isRunning, sleep, tailOfLog } from './processes.js';

/** Seed 002's bridge is br-provider, so its ProviderNetwork is "provider". */
export const KUBE_OVN_PROVIDER = 'provider';
export const KUBE_OVN_VLAN_ID = 341;
/** A second VLAN on the trunk whose client must get no answer from the nodes. */
export const KUBE_OVN_OTHER_VLAN_ID = 342;
/** Seed 002's underlay subnet; used only inside the lab's namespaces. */
export const KUBE_OVN_SUBNET_CIDR = '10.180.204.0/24';
export const KUBE_OVN_SUBNET = 'underlay-subnet';
export const KUBE_OVN_VLAN = 'vlan341';
export const PROVIDER_NIC = 'eth1';
const OVS_SCHEMA = '/usr/share/openvswitch/vswitch.ovsschema';
const OVSDB_SERVER = '/usr/sbin/ovsdb-server';
const OVS_VSWITCHD = '/usr/sbin/ovs-vswitchd';

export interface LabOvsInstance {
  readonly namespace: string;
  /** OVS_RUNDIR/LOGDIR/DBDIR of this instance: conf.db, db.sock, *.ctl, <bridge>.mgmt. */
  readonly runDir: string;
  readonly dbSocket: string;
  /** `unix:<dbSocket>`, what OvsdbClient and ovs-vsctl --db take. */
  readonly endpoint: string;
}

export interface LabKubeOvnNode {
  readonly namespace: string;
  /** The trunk NIC in the node namespace, enslaved to the provider bridge. */
  readonly nic: string;
  /** Its peer on the switch's trunk0. */
  readonly switchPort: string;
  readonly ovs: LabOvsInstance;
  /** The VLAN internal port (tap) in the node namespace: the announce interface for VLAN 341. */
  readonly vlanPort: string;
  /** external_ids:system-id / hostname. */
  readonly systemId: string;
  readonly chassisMac: string;
}

export interface LabVlanClient {
  readonly namespace: string;
  readonly interface: string;
  readonly switchPort: string;
  readonly mac: string;
  readonly vlanId: number;
  readonly address: string;
}

export interface LabKubeOvnNetwork {
  readonly provider: string;
  readonly bridge: string;
  readonly vlanId: number;
  readonly subnetCidr: string;
  readonly switch: { readonly namespace: string; readonly bridge: string; readonly ovs: LabOvsInstance };
  readonly nodes: Readonly<Record<string, LabKubeOvnNode>>;
  /** Access port of VLAN 341: reaches the nodes' VLAN ports. */
  readonly vlanClient: LabVlanClient;
  /** Access port of VLAN 342: same subnet addresses, other VLAN, must reach nothing. */
  readonly otherVlanClient: LabVlanClient;
  /** Labels applied to each Node object (kube-ovn-cni's). */
  readonly nodeLabels: Readonly<Record<string, Readonly<Record<string, string>>>>;
}

/** Unix socket paths are limited to 107 bytes: long lab directories put the OVS run dirs under /tmp. */
export function ovsBaseDir(dir: string, prefix: string): string {
  const inDir = join(dir, 'ovs');
  return inDir.length <= 60 ? inDir : join(tmpdir(), `${prefix}ovs`);
}

/** Removes the /tmp fallback of ovsBaseDir (the lab dir itself goes with `lab down`). */
export function removeOvsRuntimeDir(prefix: string): boolean {
  const p = join(tmpdir(), `${prefix}ovs`);
  if (!existsSync(p)) return false;
  rmSync(p, { recursive: true, force: true });
  return true;
}

function instance(base: string, short: string, namespace: string): LabOvsInstance {
  const runDir = join(base, short);
  const dbSocket = join(runDir, 'db.sock');
  return { namespace, runDir, dbSocket, endpoint: `unix:${dbSocket}` };
}

const mac = (a: number, b: number) => `02:49:4f:00:${a.toString(16).padStart(2, '0')}:${b.toString(16).padStart(2, '0')}`;

/** The plan; pure apart from choosing the run directory. */
export function planKubeOvnNetwork(net: LabNetwork, dir: string): LabKubeOvnNetwork {
  const base = ovsBaseDir(dir, net.prefix);
  const bridge = `br-${KUBE_OVN_PROVIDER}`;
  const vlanPort = vlanInternalPortName(KUBE_OVN_PROVIDER, KUBE_OVN_VLAN_ID);
  const nodes: Record<string, LabKubeOvnNode> = {};
  const nodeLabels: Record<string, Record<string, string>> = {};
  for (const n of net.nodes) {
    nodes[n.name] = {
      namespace: n.namespace, nic: PROVIDER_NIC, switchPort: `t${n.index}`, ovs: instance(base, `n${n.index}`, n.namespace),
      vlanPort, systemId: n.name, chassisMac: mac(1, n.index),
    };
    nodeLabels[n.name] = {
      [providerLabel.ready(KUBE_OVN_PROVIDER)]: 'true',
      [providerLabel.interface(KUBE_OVN_PROVIDER)]: PROVIDER_NIC,
      [providerLabel.mtu(KUBE_OVN_PROVIDER)]: '1500',
      [providerLabel.vlanInterfaces(KUBE_OVN_PROVIDER)]: 'true',
    };
  }
  return {
    provider: KUBE_OVN_PROVIDER, bridge, vlanId: KUBE_OVN_VLAN_ID, subnetCidr: KUBE_OVN_SUBNET_CIDR,
    switch: { namespace: net.switchNamespace, bridge: 'trunk0', ovs: instance(base, 'sw', net.switchNamespace) },
    nodes,
    vlanClient: { namespace: `${net.prefix}vc`, interface: 'eth0', switchPort: 'vc', mac: mac(2, 0x41), vlanId: KUBE_OVN_VLAN_ID, address: '10.180.204.100' },
    otherVlanClient: { namespace: `${net.prefix}vx`, interface: 'eth0', switchPort: 'vx', mac: mac(2, 0x42), vlanId: KUBE_OVN_OTHER_VLAN_ID, address: '10.180.204.101' },
    nodeLabels,
  };
}

/** ovs-vsctl against one instance; waits for ovs-vswitchd to apply the change (bounded). */
export function ovsVsctl(ovs: LabOvsInstance, args: readonly string[]): string {
  return run('ovs-vsctl', [`--db=${ovs.endpoint}`, '--timeout=20', ...args]);
}

async function waitFor(what: string, ok: () => boolean, procs: readonly NamespacedProcess[], timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    const dead = procs.find((p) => !isRunning(p));
    if (dead) throw new Error(`${dead.name} exited while waiting for ${what}; last lines of ${dead.log}:\n${tailOfLog(dead.log)}`);
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs / 1000} s; see ${procs.map((p) => p.log).join(', ')}`);
    await sleep(50);
  }
}

/** ovsdb-server + ovs-vswitchd (user space) inside `ovs.namespace`; both tracked in `processes`. */
async function startOvs(ovs: LabOvsInstance, label: string, logDir: string, processes: NamespacedProcess[]): Promise<void> {
  mkdirSync(ovs.runDir, { recursive: true });
  mkdirSync(logDir, { recursive: true });
  const db = join(ovs.runDir, 'conf.db');
  run('ovsdb-tool', ['create', db, OVS_SCHEMA]);
  // Without these every instance would share /var/run/openvswitch (bridge .mgmt sockets, pid files).
  const env = { OVS_RUNDIR: ovs.runDir, OVS_LOGDIR: ovs.runDir, OVS_DBDIR: ovs.runDir, OVS_SYSCONFDIR: ovs.runDir };
  const server = startInNamespace(ovs.namespace, `ovsdb-server@${label}`, OVSDB_SERVER, [
    db, `--remote=punix:${ovs.dbSocket}`, '--remote=db:Open_vSwitch,Open_vSwitch,manager_options',
    `--pidfile=${join(ovs.runDir, 'ovsdb-server.pid')}`, `--unixctl=${join(ovs.runDir, 'ovsdb-server.ctl')}`,
  ], join(logDir, `ovsdb-server-${label}.log`), env);
  processes.push(server);
  await waitExecuted(server);
  await waitFor(`ovsdb-server@${label} socket ${ovs.dbSocket}`, () => existsSync(ovs.dbSocket), [server]);
  run('ovs-vsctl', [`--db=${ovs.endpoint}`, '--no-wait', 'init']);
  const vswitchd = startInNamespace(ovs.namespace, `ovs-vswitchd@${label}`, OVS_VSWITCHD, [
    ovs.endpoint, `--pidfile=${join(ovs.runDir, 'ovs-vswitchd.pid')}`, `--unixctl=${join(ovs.runDir, 'ovs-vswitchd.ctl')}`,
  ], join(logDir, `ovs-vswitchd-${label}.log`), env);
  processes.push(vswitchd);
  await waitExecuted(vswitchd);
  await waitFor(`ovs-vswitchd@${label} control socket`, () => existsSync(join(ovs.runDir, 'ovs-vswitchd.ctl')), [server, vswitchd]);
}

function ipIn(ns: string, ...args: string[]): void {
  run('ip', ['-n', ns, ...args]);
}

// A veth hands TCP/UDP to its peer with the checksum left to "hardware" (CHECKSUM_PARTIAL).
// ovs-vswitchd's netdev datapath reads the peer with AF_PACKET and forwards the frame as it is,
// so the far kernel drops it for a bad checksum (ICMP and ARP are unaffected). Hosts that send
// into a user-space OVS port therefore compute checksums in software: ethtool -K <if> tx off,
// done here with the SIOCETHTOOL ioctl (ETHTOOL_STXCSUM) since the machine has no ethtool.
const TX_CHECKSUM_OFF = `
import array, fcntl, socket, struct, sys
value = array.array('I', [0x17, 0])  # struct ethtool_value { ETHTOOL_STXCSUM, data = 0 }
ifr = struct.pack('16sP16x', sys.argv[1].encode(), value.buffer_info()[0])
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
fcntl.ioctl(sock.fileno(), 0x8946, ifr)  # SIOCETHTOOL
`;

export function disableTxChecksum(ns: string, ifname: string): void {
  runIn(ns, 'python3', ['-c', TX_CHECKSUM_OFF, ifname]);
}

function addClient(plan: LabKubeOvnNetwork, c: LabVlanClient): void {
  run('ip', ['netns', 'add', c.namespace]);
  ipIn(c.namespace, 'link', 'set', 'lo', 'up');
  runIn(c.namespace, 'sysctl', ['-q', '-w', 'net.ipv6.conf.all.accept_dad=0', 'net.ipv6.conf.default.accept_dad=0']);
  ipIn(plan.switch.namespace, 'link', 'add', c.switchPort, 'type', 'veth', 'peer', 'name', c.interface, 'address', c.mac, 'netns', c.namespace);
  ipIn(plan.switch.namespace, 'link', 'set', c.switchPort, 'up');
  disableTxChecksum(c.namespace, c.interface);
  ipIn(c.namespace, 'link', 'set', c.interface, 'up');
  ipIn(c.namespace, 'addr', 'add', `${c.address}/24`, 'dev', c.interface);
  ovsVsctl(plan.switch.ovs, ['add-port', plan.switch.bridge, c.switchPort, `tag=${c.vlanId}`]);
}

/**
 * Builds the VLAN part on top of an existing lab network (createLabNetwork): OVS in the switch
 * and every node namespace, the trunk, the two VLAN clients. Every started daemon is pushed to
 * `processes` at once, so a failure half-way is still cleaned up by `lab down`.
 */
export async function createKubeOvnNetwork(plan: LabKubeOvnNetwork, logDir: string, processes: NamespacedProcess[]): Promise<void> {
  const sw = plan.switch;
  await startOvs(sw.ovs, 'switch', logDir, processes);
  ovsVsctl(sw.ovs, ['add-br', sw.bridge, '--', 'set', 'bridge', sw.bridge, 'datapath_type=netdev']);
  addClient(plan, plan.vlanClient);
  addClient(plan, plan.otherVlanClient);

  for (const [name, n] of Object.entries(plan.nodes)) {
    // The trunk: switch port t<k> carries every VLAN; the node's bridge admits 0 and 341 (Kube-OVN's trunks).
    ipIn(sw.namespace, 'link', 'add', n.switchPort, 'type', 'veth', 'peer', 'name', n.nic, 'netns', n.namespace);
    ipIn(sw.namespace, 'link', 'set', n.switchPort, 'up');
    ovsVsctl(sw.ovs, ['add-port', sw.bridge, n.switchPort]);
    // The enslaved NIC carries no addresses and no IPv6 of its own (the node kernel still sees its frames).
    runIn(n.namespace, 'sysctl', ['-q', '-w', `net.ipv6.conf.${n.nic}.disable_ipv6=1`]);
    ipIn(n.namespace, 'link', 'set', n.nic, 'up');

    await startOvs(n.ovs, name, logDir, processes);
    const b = plan.bridge;
    ovsVsctl(n.ovs, [
      'set', 'Open_vSwitch', '.',
      `external_ids:ovn-bridge-mappings=${plan.provider}:${b}`,
      `external_ids:ovn-chassis-mac-mappings=${plan.provider}:${n.chassisMac}`,
      `external_ids:system-id=${n.systemId}`, `external_ids:hostname=${name}`,
    ]);
    ovsVsctl(n.ovs, [
      'add-br', b, '--', 'set', 'bridge', b, 'datapath_type=netdev', 'external_ids:vendor=kube-ovn',
      'external_ids:exchange-link-name=false', 'other_config:mac-learning-fallback=false',
    ]);
    ovsVsctl(n.ovs, ['add-port', b, n.nic, `trunks=0,${plan.vlanId}`, '--', 'set', 'port', n.nic, 'external_ids:vendor=kube-ovn']);
    addVlanPort(plan, n);
    ipIn(n.namespace, 'link', 'set', b, 'up');
  }
}

/** The VLAN internal port as kube-ovn-cni creates it (spec §3.1), brought up in the node namespace. */
export function addVlanPort(plan: LabKubeOvnNetwork, n: LabKubeOvnNode): void {
  ovsVsctl(n.ovs, [
    'add-port', plan.bridge, n.vlanPort, `tag=${plan.vlanId}`,
    '--', 'set', 'interface', n.vlanPort, 'type=internal',
    '--', 'set', 'port', n.vlanPort, 'external_ids:vendor=kube-ovn', `external_ids:provider-vlan-interface=${n.nic}.${plan.vlanId}`,
  ]);
  ipIn(n.namespace, 'link', 'set', n.vlanPort, 'up');
  // Replies to VLAN-341 clients (un-DNATed from the VIP) leave through the VLAN port: the lab's
  // stand-in for OVN's logical switch, which delivers them in a real cluster. Metric 100 so an
  // address a test puts on the port brings its own prefix route without a clash.
  ipIn(n.namespace, 'route', 'replace', plan.subnetCidr, 'dev', n.vlanPort, 'metric', '100');
}

/**
 * Kube-OVN objects of the scenario (Vlan, ProviderNetwork, seed 002's Subnet with the `vlan`
 * field the seed forgot, spec §2.1). Applied only when manifests/kube-ovn provides the CRDs.
 */
export function kubeOvnObjects(plan: LabKubeOvnNetwork): string {
  return `apiVersion: kubeovn.io/v1
kind: ProviderNetwork
metadata:
  name: ${plan.provider}
spec:
  defaultInterface: ${PROVIDER_NIC}
---
apiVersion: kubeovn.io/v1
kind: Vlan
metadata:
  name: ${KUBE_OVN_VLAN}
spec:
  id: ${plan.vlanId}
  provider: ${plan.provider}
---
apiVersion: kubeovn.io/v1
kind: Subnet
metadata:
  name: ${KUBE_OVN_SUBNET}
spec:
  protocol: IPv4
  provider: ovn
  vlan: ${KUBE_OVN_VLAN}
  cidrBlock: ${plan.subnetCidr}
  gateway: 10.180.204.1
  excludeIps:
  - 10.180.204.250..10.180.204.254
  natOutgoing: false
  enableExternalLBAddress: true
`;
}

/** Subnet status as kube-ovn-controller writes it for a valid, ready subnet (ironlb only counts Validated subnets as underlay candidates). */
export function subnetStatus(): string {
  const now = new Date().toISOString();
  const condition = (type: string) => ({ type, status: 'True', reason: type === 'Validated' ? 'ValidatedSuccessfully' : 'SetPrivateLogicalSwitchSuccess', lastUpdateTime: now, lastTransitionTime: now });
  return JSON.stringify({ status: { conditions: [condition('Validated'), condition('Ready')] } });
}

/** ProviderNetwork status as kube-ovn-controller would write it once every node is ready. */
export function providerNetworkStatus(plan: LabKubeOvnNetwork): string {
  return JSON.stringify({ status: { ready: true, readyNodes: Object.keys(plan.nodes), notReadyNodes: [], vlans: [KUBE_OVN_VLAN] } });
}
