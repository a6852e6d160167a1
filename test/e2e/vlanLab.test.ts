// `lab up --scenario kube-ovn` with real kernels and real user-space Open vSwitch: VLAN 341
// carried tagged over the switch trunk to each node's br-provider and its VLAN internal port,
// VLAN 342 isolated, the announce interface resolved from a node's real OVSDB and re-resolved
// when the VLAN port is deleted and re-added, ARP requests of the VLAN-341 client seen on an
// AF_PACKET socket on the resolved interface. `lab down` leaves nothing behind.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { kubectl, labDown, labUp, type LabState } from '../../src/lab/lab.js';
import { labNamespaces, pidsInNamespace } from '../../src/lab/network.js';
import { addVlanPort, KUBE_OVN_SUBNET, KUBE_OVN_VLAN, removeOvsRuntimeDir, type LabKubeOvnNetwork } from '../../src/lab/ovs.js';
import { projectRoot } from '../../src/lab/projectRoot.js';
import { providerNetworkFacts, subnetFacts, vlanFacts } from '../../src/underlay/kubeOvnObjects.js';
import { UnderlayInterfaces, type InterfaceChange } from '../../src/vlan/underlayInterfaces.js';
import { waitFor } from './harness.js';

const parent = mkdtempSync(join(tmpdir(), 'ironlb-vlanlab-'));
const dir = join(parent, 'lab');
const progress = (l: string) => process.stderr.write(`[vlanlab] ${l}\n`);
let state: LabState;
let ko: LabKubeOvnNetwork;
const NODE = 'lab-node-1';
const NODE_TEST_IP = '10.180.204.11';

function inNs(ns: string, command: string[], timeout = 20_000): { code: number | null; out: string; err: string } {
  const r = spawnSync('ip', ['netns', 'exec', ns, ...command], { encoding: 'utf8', timeout });
  return { code: r.status, out: r.stdout ?? '', err: r.stderr ?? '' };
}

function node() {
  const n = ko.nodes[NODE];
  if (!n) throw new Error(`no ${NODE} in the plan`);
  return n;
}

/** Starts an AF_PACKET ARP-request listener on `iface` inside `ns`; resolves with the target IPs it saw. */
function arpWatch(ns: string, iface: string, ms: number): { ready: Promise<void>; seen: Promise<{ sender: string; target: string }[]> } {
  const mod = join(projectRoot(), 'dist', 'src', 'net', 'packetSocket.js');
  const script = `
    const { PacketSocket, ETHERTYPE_ARP } = await import(${JSON.stringify(mod)});
    const s = PacketSocket.open(${JSON.stringify(iface)}, { ethertype: ETHERTYPE_ARP, filter: 'arp-request' });
    const ip = (b, o) => [...b.subarray(o, o + 4)].join('.');
    s.onFrame((f) => console.log(JSON.stringify({ sender: ip(f, 28), target: ip(f, 38) })));
    console.log('ready');
    setTimeout(() => { s.close(); process.exit(0); }, ${ms});`;
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  let onReady: () => void = () => {};
  const ready = new Promise<void>((r) => (onReady = r));
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    if (out.includes('ready')) onReady();
  });
  const seen = new Promise<{ sender: string; target: string }[]>((resolve) => {
    child.on('exit', () => resolve(out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { sender: string; target: string })));
  });
  return { ready, seen };
}

describe('lab --scenario kube-ovn (user-space OVS, VLAN 341)', () => {
  beforeAll(async () => {
    // A missing prerequisite is a failure that says how to fix it, never a silent skip.
    for (const bin of ['/usr/sbin/ovs-vswitchd', '/usr/sbin/ovsdb-server']) {
      if (!existsSync(bin)) throw new Error(`${bin} is missing: run "bash scripts/install-prereqs.sh" (installs Debian's openvswitch-switch)`);
    }
    state = await labUp({ dir, progress, nodes: 2, controller: false, speakers: false, scenario: 'kube-ovn' });
    if (!state.kubeOvn) throw new Error('labUp returned no kubeOvn plan');
    ko = state.kubeOvn;
  });

  afterAll(async () => {
    const prefix = state?.network?.prefix;
    await labDown(dir, progress);
    rmSync(parent, { recursive: true, force: true });
    if (prefix) removeOvsRuntimeDir(prefix);
  });

  test('every node runs its own OVSDB with br-provider, the trunk NIC and the VLAN 341 internal port; Nodes carry Kube-OVN labels', () => {
    for (const [name, n] of Object.entries(ko.nodes)) {
      const show = inNs(n.namespace, ['ovs-vsctl', `--db=${n.ovs.endpoint}`, 'show']).out;
      expect(show).toContain(`Bridge ${ko.bridge}`);
      expect(show).toMatch(/datapath_type: netdev/);
      const tag = inNs(n.namespace, ['ovs-vsctl', `--db=${n.ovs.endpoint}`, 'get', 'port', n.vlanPort, 'tag']).out.trim();
      expect(tag).toBe('341');
      const trunks = inNs(n.namespace, ['ovs-vsctl', `--db=${n.ovs.endpoint}`, 'get', 'port', n.nic, 'trunks']).out.trim();
      expect(trunks).toBe('[0, 341]');
      const mappings = inNs(n.namespace, ['ovs-vsctl', `--db=${n.ovs.endpoint}`, 'get', 'Open_vSwitch', '.', 'external_ids:ovn-bridge-mappings']).out.trim();
      expect(mappings).toBe('"provider:br-provider"');
      // The tap is in the node namespace (ovs-vswitchd runs there), up.
      expect(inNs(n.namespace, ['ip', '-o', 'link', 'show', n.vlanPort]).out).toMatch(/state UP|,UP/);
      const labels = JSON.parse(kubectl(state, ['get', 'node', name, '-o', 'jsonpath={.metadata.labels}'])) as Record<string, string>;
      expect(labels['provider.provider-network.kubernetes.io/ready']).toBe('true');
      expect(labels['provider.provider-network.kubernetes.io/interface']).toBe('eth1');
    }
  });

  test('VLAN 341 client reaches the node\'s VLAN port through both OVS bridges; the VLAN 342 client does not', async () => {
    const n = node();
    inNs(n.namespace, ['ip', 'addr', 'add', `${NODE_TEST_IP}/24`, 'dev', n.vlanPort]);
    try {
      const ok = inNs(ko.vlanClient.namespace, ['ping', '-c', '3', '-i', '0.2', '-W', '2', NODE_TEST_IP]);
      expect(ok.code, ok.out + ok.err).toBe(0);
      // The answer came from the tap's MAC (through OVS), not from a veth of a namespace that owns a datapath.
      const tapMac = inNs(n.namespace, ['cat', `/sys/class/net/${n.vlanPort}/address`]).out.trim();
      const neigh = inNs(ko.vlanClient.namespace, ['ip', 'neigh', 'show', NODE_TEST_IP]).out;
      expect(neigh).toContain(tapMac);
      const other = inNs(ko.otherVlanClient.namespace, ['arping', '-c', '2', '-w', '3', '-I', 'eth0', NODE_TEST_IP]);
      expect(other.code, other.out).not.toBe(0);
      const otherPing = inNs(ko.otherVlanClient.namespace, ['ping', '-c', '1', '-W', '2', NODE_TEST_IP]);
      expect(otherPing.code).not.toBe(0);
      // TCP too: checksums survive the two user-space datapaths (veth offload vs AF_PACKET).
      const server = spawn('ip', ['netns', 'exec', n.namespace, process.execPath, '-e',
        `require('http').createServer((q, r) => r.end('vlan341 ' + q.socket.remoteAddress)).listen(8341, ${JSON.stringify(NODE_TEST_IP)}, () => console.log('listening'))`],
      { stdio: ['ignore', 'pipe', 'inherit'] });
      try {
        await new Promise<void>((r) => server.stdout.on('data', (d: Buffer) => d.toString().includes('listening') && r()));
        const curl = inNs(ko.vlanClient.namespace, ['curl', '-sS', '-m', '5', `http://${NODE_TEST_IP}:8341/`]);
        expect(curl.out + curl.err).toBe(`vlan341 ${ko.vlanClient.address}`);
      } finally {
        server.kill();
      }
    } finally {
      inNs(n.namespace, ['ip', 'addr', 'del', `${NODE_TEST_IP}/24`, 'dev', n.vlanPort]);
    }
  });

  test('the adapter resolves the VLAN port from the real OVSDB, reports it gone when the port is deleted and back when re-added; ARP of the VLAN 341 client arrives on it', async () => {
    const n = node();
    const labels = JSON.parse(kubectl(state, ['get', 'node', NODE, '-o', 'jsonpath={.metadata.labels}'])) as Record<string, string>;
    const changes: InterfaceChange[] = [];
    const u = new UnderlayInterfaces({ endpoint: n.ovs.endpoint, netns: n.namespace, kernelPollMs: 200 });
    u.on('change', (c: InterfaceChange) => changes.push(c));
    try {
      await u.start();
      u.setKubeState({
        node: { name: NODE, labels },
        // The same parser as the speaker's (src/underlay/kubeOvnObjects.ts), from kubeovn.io JSON.
        subnets: [
          subnetFacts({ metadata: { name: KUBE_OVN_SUBNET }, spec: { vlan: KUBE_OVN_VLAN, provider: 'ovn' } }),
          subnetFacts({ metadata: { name: 'overlay' }, spec: { vlan: '' } }),
        ],
        vlans: [vlanFacts({ metadata: { name: KUBE_OVN_VLAN }, spec: { id: 341, provider: ko.provider } })],
        providerNetworks: [providerNetworkFacts({ metadata: { name: ko.provider }, spec: { defaultInterface: 'eth1' }, status: { ready: true, vlans: [KUBE_OVN_VLAN] } })],
      });
      await u.settled();
      const first = u.interfaceFor(KUBE_OVN_SUBNET);
      expect(first, JSON.stringify(first)).toMatchObject({ ok: true, interface: n.vlanPort, vlanId: 341, how: 'vlan-internal-port', bridge: 'br-provider', nic: 'eth1' });
      expect(u.interfaceFor('overlay')).toBeUndefined();

      // AF_PACKET on the resolved interface sees the VLAN 341 client's ARP request (untagged there: OVS popped the tag).
      const w = arpWatch(n.namespace, n.vlanPort, 2500);
      await w.ready;
      inNs(ko.vlanClient.namespace, ['arping', '-c', '2', '-w', '1', '-I', 'eth0', '10.180.204.252']);
      inNs(ko.otherVlanClient.namespace, ['arping', '-c', '2', '-w', '1', '-I', 'eth0', '10.180.204.253']);
      const seen = await w.seen;
      expect(seen).toContainEqual({ sender: ko.vlanClient.address, target: '10.180.204.252' });
      expect(seen.filter((s) => s.target === '10.180.204.253')).toEqual([]);

      // Delete the VLAN port in the node's OVSDB: "gone" within a short time.
      changes.length = 0;
      let t0 = Date.now();
      const del = inNs(n.namespace, ['ovs-vsctl', `--db=${n.ovs.endpoint}`, 'del-port', ko.bridge, n.vlanPort]);
      expect(del.code, del.err).toBe(0);
      await waitFor('gone event', () => changes.find((c) => c.kind === 'gone'), 5000);
      const goneMs = Date.now() - t0;
      const gone = changes.find((c) => c.kind === 'gone');
      expect(gone?.kind === 'gone' && gone.current.reason).toBe('NoAnnounceInterface');
      expect(u.interfaceFor(KUBE_OVN_SUBNET)?.ok).toBe(false);

      // Re-add it as kube-ovn-cni does: a new tap, brought up.
      changes.length = 0;
      t0 = Date.now();
      addVlanPort(ko, n);
      await waitFor('changed event', () => changes.find((c) => c.kind === 'changed'), 5000);
      const backMs = Date.now() - t0;
      expect(u.interfaceFor(KUBE_OVN_SUBNET)).toMatchObject({ ok: true, interface: n.vlanPort, vlanId: 341 });
      progress(`adapter: gone after ${goneMs} ms, back after ${backMs} ms`);
    } finally {
      await u.close();
    }
  });

  test('lab down leaves no namespace, process or file', async () => {
    const prefix = state.network?.prefix as string;
    const runDirs = [ko.switch.ovs.runDir, ...Object.values(ko.nodes).map((n) => n.ovs.runDir)];
    await labDown(dir, progress);
    expect(labNamespaces(prefix)).toEqual([]);
    for (const d of runDirs) expect(existsSync(d)).toBe(false);
    expect(existsSync(dir)).toBe(false);
    expect(existsSync(join(tmpdir(), `${prefix}ovs`))).toBe(false);
    for (const p of state.processes) expect(existsSync(`/proc/${p.pid}/cmdline`) && readFileSync(`/proc/${p.pid}/cmdline`, 'utf8').split('\0')[0] === p.command).toBe(false);
    const strays = readdirSync('/proc').filter((d) => /^\d+$/.test(d)).filter((d) => {
      try {
        return readFileSync(`/proc/${d}/cmdline`, 'utf8').includes(dir);
      } catch {
        return false;
      }
    });
    expect(strays).toEqual([]);
    expect(pidsInNamespace(`${prefix}n1`)).toEqual([]);
  });
});
