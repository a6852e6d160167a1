// Kube-OVN underlay checks U1-U7 against a real kube-apiserver: our Kube-OVN CRDs, Subnet/Vlan/
// ProviderNetwork/IP objects written by the test (status included, as Kube-OVN would), and the
// controller as its own ServiceAccount. Addresses are documentation ranges; nothing is sent.

import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { projectRoot } from '../../src/lab/projectRoot.js';
import {
  apply, createNamespace, deleteNamespace, eventsFor, ingressIps, kubectl, kubectlJson, lbService, startController, waitFor, type RunningController,
} from './harness.js';

const PID = process.pid;
const NS = `ironlb-underlay-${PID}`;
const PN = `pn${PID}`;
const VLAN = `vlan341-${PID}`;
const NODE = `ironlb-underlay-${PID}-node`;
const READY_LABEL = `${PN}.provider-network.kubernetes.io/ready`;
const CRDS = join(projectRoot(), 'manifests', 'kube-ovn', 'crds.yaml');
const created: string[][] = []; // [kind, name(, namespace)] to delete at the end

function track(kind: string, name: string, namespace?: string): void {
  created.push(namespace ? [kind, name, namespace] : [kind, name]);
}

function statusPatch(kind: string, name: string, status: unknown): void {
  kubectl(['patch', kind, name, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status })]);
}

function subnet(name: string, spec: Record<string, unknown>, validated = true): void {
  apply(JSON.stringify({ apiVersion: 'kubeovn.io/v1', kind: 'Subnet', metadata: { name }, spec: { provider: 'ovn', vlan: VLAN, enableExternalLBAddress: true, ...spec } }));
  track('subnets.kubeovn.io', name);
  statusPatch('subnets.kubeovn.io', name, { conditions: [{ type: 'Validated', status: validated ? 'True' : 'False', reason: 'ValidatedSubnet', lastUpdateTime: new Date().toISOString() }] });
}

function pool(name: string, addresses: string[]): void {
  apply(JSON.stringify({ apiVersion: 'metallb.io/v1beta1', kind: 'IPAddressPool', metadata: { name, namespace: 'metallb-system' }, spec: { addresses } }));
  track('ipaddresspools.metallb.io', name, 'metallb-system');
}

function kubeOvnIp(name: string, address: string, pod: string): void {
  apply(JSON.stringify({ apiVersion: 'kubeovn.io/v1', kind: 'IP', metadata: { name }, spec: { podName: pod, namespace: NS, subnet: 'x', ipAddress: address, v4IpAddress: address } }));
  track('ips.kubeovn.io', name);
}

function condition(poolName: string): { status: string; reason: string; message: string } | undefined {
  const p = kubectlJson<any>(['-n', 'metallb-system', 'get', 'ipaddresspool', poolName]);
  return (p.status?.conditions ?? []).find((c: { type: string }) => c.type === 'UnderlayValid');
}

async function poolEvent(poolName: string, reason: string): Promise<string> {
  const ev = await waitFor(`${reason} event on pool ${poolName}`, () => eventsFor('metallb-system', poolName).find((e) => e.reason === reason && e.type === 'Warning'));
  return ev.message;
}

async function poolCondition(poolName: string, status: 'True' | 'False', reason: string) {
  return waitFor(`UnderlayValid=${status} (${reason}) on ${poolName}`, () => {
    const c = condition(poolName);
    return c && c.status === status && c.reason === reason ? c : undefined;
  });
}

function deleteTracked(from = 0): void {
  for (const [kind, name, ns] of created.splice(from).reverse()) {
    kubectl([...(ns ? ['-n', ns] : []), 'delete', kind!, name!, '--ignore-not-found', '--wait=true']);
  }
}

describe('Kube-OVN underlay checks on a real API server', () => {
  let ctl: RunningController;
  let mark = 0;

  beforeAll(() => {
    kubectl(['apply', '-f', CRDS]);
    kubectl(['wait', '--for=condition=Established', '--timeout=60s', '-f', CRDS]);
    createNamespace(NS);
    // A node on which the provider network is ready (U7), as kube-ovn-cni would label it.
    apply(JSON.stringify({ apiVersion: 'v1', kind: 'Node', metadata: { name: NODE, labels: { [READY_LABEL]: 'true' } } }));
    track('node', NODE);
    apply(JSON.stringify({ apiVersion: 'kubeovn.io/v1', kind: 'ProviderNetwork', metadata: { name: PN }, spec: { defaultInterface: 'underlay0.341' } }));
    track('provider-networks.kubeovn.io', PN);
    statusPatch('provider-networks.kubeovn.io', PN, { ready: true, readyNodes: [NODE], vlans: [VLAN] });
    apply(JSON.stringify({ apiVersion: 'kubeovn.io/v1', kind: 'Vlan', metadata: { name: VLAN }, spec: { id: 0, provider: PN } }));
    track('vlans.kubeovn.io', VLAN);
    // kube-ovn-controller with the flags the docs require (replicas 0: only its args are read).
    apply(kubeOvnControllerDeployment(['--enable-ovn-lb-prefer-local=true', '--ls-ct-skip-dst-lport-ips=false']));
    track('deployment', 'kube-ovn-controller', 'kube-system');
    mark = created.length;
    ctl = startController();
  });

  afterEach((ctx) => {
    if (ctx.task.result?.state === 'fail') process.stderr.write(`--- controller log (tail) ---\n${ctl.logText().split('\n').slice(-40).join('\n')}\n`);
    kubectl(['-n', NS, 'delete', 'svc', '--all', '--wait=true']);
    deleteTracked(mark);
  });

  afterAll(async () => {
    await ctl?.stop();
    try {
      kubectl(['-n', NS, 'delete', 'svc', '--all', '--wait=false']);
      deleteTracked(0);
    } finally {
      deleteNamespace(NS);
      kubectl(['delete', '-f', CRDS, '--ignore-not-found', '--wait=false']);
    }
  });

  test('compliant pool (seed 002 Subnet with excludeIps covering the pool) allocates normally; UnderlayValid=True', async () => {
    subnet(`seed-${PID}`, { protocol: 'IPv4', cidrBlock: '192.0.2.0/24', gateway: '192.0.2.1', excludeIps: ['192.0.2.250..192.0.2.254'], natOutgoing: false });
    pool(`ok-${PID}`, ['192.0.2.250-192.0.2.254']);
    await poolCondition(`ok-${PID}`, 'True', 'UnderlayChecksPassed');
    apply(lbService('web'), NS);
    expect(await waitFor('web ip', () => ingressIps(NS, 'web')[0])).toBe('192.0.2.250');
  });

  test('U2 partial: only the covered addresses are handed out; the rest fail naming the rule', async () => {
    subnet(`seedwritten-${PID}`, { cidrBlock: '192.0.2.0/24', gateway: '192.0.2.1', excludeIps: ['192.0.2.250', '192.0.2.252'] });
    const name = `partial-${PID}`;
    pool(name, ['192.0.2.250-192.0.2.254']);
    const expected = `pool "${name}": 192.0.2.251, 192.0.2.253-192.0.2.254 in subnet "seedwritten-${PID}" are not covered by spec.excludeIps; Kube-OVN IPAM may assign them to pods. Add "192.0.2.251", "192.0.2.253..192.0.2.254" to spec.excludeIps of subnet "seedwritten-${PID}".`;
    expect(await poolEvent(name, 'PoolNotExcluded')).toBe(expected);
    expect((await poolCondition(name, 'False', 'PoolNotExcluded')).message).toBe(expected);
    for (const s of ['a', 'b', 'c']) apply(lbService(`svc-${s}`), NS);
    const got = await waitFor('two IPs', () => {
      const ips = ['a', 'b', 'c'].flatMap((s) => ingressIps(NS, `svc-${s}`));
      return ips.length === 2 ? ips.sort() : undefined;
    });
    expect(got).toEqual(['192.0.2.250', '192.0.2.252']);
    apply(lbService('req', { loadBalancerIP: '192.0.2.253' }), NS);
    const ev = await waitFor('AllocationFailed', () => eventsFor(NS, 'req').find((e) => e.reason === 'AllocationFailed'));
    expect(ev.message).toContain('192.0.2.253 in pool "' + name + '" may not be handed out: U2 PoolNotExcluded');
    // Nothing uncovered was ever handed out.
    await new Promise((r) => setTimeout(r, 1000));
    const all = ['svc-a', 'svc-b', 'svc-c', 'req'].flatMap((s) => ingressIps(NS, s));
    expect(all.sort()).toEqual(['192.0.2.250', '192.0.2.252']);
  });

  test('U4: an ips.kubeovn.io object holding a pool address makes the allocator skip it', async () => {
    subnet(`u4-${PID}`, { cidrBlock: '192.0.2.0/24', gateway: '192.0.2.1', excludeIps: ['192.0.2.250..192.0.2.254'] });
    const name = `u4pool-${PID}`;
    kubeOvnIp(`static-${PID}`, '192.0.2.250', 'static-pod');
    pool(name, ['192.0.2.250-192.0.2.254']);
    const expected = `192.0.2.250 in pool "${name}" is already allocated by Kube-OVN to ${NS}/static-pod (ips.kubeovn.io/static-${PID})`;
    expect(await poolEvent(name, 'AddressInUse')).toBe(expected);
    expect((await poolCondition(name, 'False', 'AddressInUse')).message).toBe(expected);
    apply(lbService('skip'), NS);
    expect(await waitFor('skip ip', () => ingressIps(NS, 'skip')[0])).toBe('192.0.2.251');
    // A new Kube-OVN allocation is seen before the next assignment.
    kubeOvnIp(`static2-${PID}`, '192.0.2.252', 'other-pod');
    await poolEvent(name, 'AddressInUse').then(() => waitFor('second AddressInUse', () => eventsFor('metallb-system', name).filter((e) => e.reason === 'AddressInUse').length >= 2));
    apply(lbService('next'), NS);
    expect(await waitFor('next ip', () => ingressIps(NS, 'next')[0])).toBe('192.0.2.253');
  });

  test('U1: a pool outside every candidate subnet, and one in a subnet that is not eligible', async () => {
    subnet(`cand-${PID}`, { cidrBlock: '192.0.2.0/24', excludeIps: ['192.0.2.2..192.0.2.254'] });
    subnet(`overlay-${PID}`, { cidrBlock: '198.51.100.0/24', vlan: '', enableExternalLBAddress: false, excludeIps: ['198.51.100.10..198.51.100.20'] });
    pool(`out-${PID}`, ['203.0.113.0/28']);
    pool(`inel-${PID}`, ['198.51.100.10-198.51.100.20']);
    const out = `pool "out-${PID}": range 203.0.113.0-203.0.113.15 is not inside the CIDR of any Kube-OVN subnet with enableExternalLBAddress=true (candidates: cand-${PID} 192.0.2.0/24)`;
    expect(await poolEvent(`out-${PID}`, 'PoolOutsideUnderlaySubnet')).toBe(out);
    expect((await poolCondition(`out-${PID}`, 'False', 'PoolOutsideUnderlaySubnet')).message).toBe(out);
    const inel = `pool "inel-${PID}": range 198.51.100.10-198.51.100.20 is in subnet "overlay-${PID}" (198.51.100.0/24) but spec.vlan is empty and enableExternalLBAddress is false`;
    expect(await poolEvent(`inel-${PID}`, 'SubnetNotEligible')).toBe(inel);
    await poolCondition(`inel-${PID}`, 'False', 'SubnetNotEligible');
  });

  test('U3: a pool holding the gateway', async () => {
    subnet(`u3-${PID}`, { cidrBlock: '192.0.2.0/24', gateway: '192.0.2.1', excludeIps: ['192.0.2.1..192.0.2.10'] });
    const name = `u3pool-${PID}`;
    pool(name, ['192.0.2.1-192.0.2.10']);
    const expected = `pool "${name}": 192.0.2.1 is the gateway of subnet "u3-${PID}"`;
    expect(await poolEvent(name, 'PoolContainsReservedAddress')).toBe(expected);
    expect((await poolCondition(name, 'False', 'PoolContainsReservedAddress')).message).toBe(expected);
    apply(lbService('gw'), NS);
    expect(await waitFor('gw ip', () => ingressIps(NS, 'gw')[0])).toBe('192.0.2.2');
  });

  test('U5: IPv4 and IPv6 of one pool in different subnets', async () => {
    subnet(`v4-${PID}`, { cidrBlock: '192.0.2.0/24', excludeIps: ['192.0.2.250..192.0.2.254'] });
    subnet(`v6-${PID}`, { cidrBlock: '2001:db8::/64', excludeIps: ['2001:db8::100..2001:db8::1ff'] });
    const name = `u5pool-${PID}`;
    pool(name, ['192.0.2.250-192.0.2.254', '2001:db8::100-2001:db8::1ff']);
    const expected = `pool "${name}": IPv4 192.0.2.250-192.0.2.254 is in subnet "v4-${PID}" but IPv6 2001:db8::100-2001:db8::1ff is in subnet "v6-${PID}"; both families must come from one dual-stack subnet`;
    expect(await poolEvent(name, 'DualStackSubnetMismatch')).toBe(expected);
    await poolCondition(name, 'False', 'DualStackSubnetMismatch');
  });

  test('U6: kube-ovn-controller flags and subnet modes', async () => {
    apply(kubeOvnControllerDeployment(['--enable-ovn-lb-prefer-local=false']));
    try {
      subnet(`u6-${PID}`, { cidrBlock: '192.0.2.0/24', excludeIps: ['192.0.2.250..192.0.2.254'], logicalGateway: true });
      const name = `u6pool-${PID}`;
      pool(name, ['192.0.2.250-192.0.2.254']);
      expect(await poolEvent(name, 'KubeOVNMisconfigured')).toMatch(/^Kube-OVN controller flag --(enable-ovn-lb-prefer-local is false|ls-ct-skip-dst-lport-ips is true); MetalLB-style VIPs on underlay subnets require --enable-ovn-lb-prefer-local=true and --ls-ct-skip-dst-lport-ips=false$/);
      const messages = await waitFor('both flag warnings', () => {
        const m = eventsFor('metallb-system', name).filter((e) => e.reason === 'KubeOVNMisconfigured').map((e) => e.message).sort();
        return m.length >= 2 ? m : undefined;
      });
      expect(messages).toEqual([
        'Kube-OVN controller flag --enable-ovn-lb-prefer-local is false; MetalLB-style VIPs on underlay subnets require --enable-ovn-lb-prefer-local=true and --ls-ct-skip-dst-lport-ips=false',
        'Kube-OVN controller flag --ls-ct-skip-dst-lport-ips is true; MetalLB-style VIPs on underlay subnets require --enable-ovn-lb-prefer-local=true and --ls-ct-skip-dst-lport-ips=false',
      ]);
      expect(await poolEvent(name, 'UnsupportedSubnetMode')).toBe(
        `pool "${name}": subnet "u6-${PID}" has spec.logicalGateway=true; MetalLB-style VIPs are only supported with the physical gateway (set logicalGateway to false)`,
      );
      await poolCondition(name, 'False', 'KubeOVNMisconfigured');
      // Warnings only: the pool still allocates.
      apply(lbService('warned'), NS);
      expect(await waitFor('warned ip', () => ingressIps(NS, 'warned')[0])).toBe('192.0.2.250');
    } finally {
      apply(kubeOvnControllerDeployment(['--enable-ovn-lb-prefer-local=true', '--ls-ct-skip-dst-lport-ips=false']));
    }
  });

  test('U7: the Vlan is not bound to the provider network', async () => {
    const vlan = `unbound-${PID}`;
    apply(JSON.stringify({ apiVersion: 'kubeovn.io/v1', kind: 'Vlan', metadata: { name: vlan }, spec: { id: 341, provider: PN } }));
    track('vlans.kubeovn.io', vlan);
    subnet(`u7-${PID}`, { cidrBlock: '192.0.2.0/24', vlan, excludeIps: ['192.0.2.250..192.0.2.254'] });
    const name = `u7pool-${PID}`;
    pool(name, ['192.0.2.250-192.0.2.254']);
    const expected = `pool "${name}": Vlan "${vlan}" of subnet "u7-${PID}" is not in status.vlans of provider network "${PN}"; Kube-OVN has not bound the VLAN to the provider network yet`;
    expect(await poolEvent(name, 'ProviderNetworkNotReady')).toBe(expected);
    expect((await poolCondition(name, 'False', 'ProviderNetworkNotReady')).message).toBe(expected);
    // Kube-OVN binds it: the condition clears.
    statusPatch('provider-networks.kubeovn.io', PN, { vlans: [VLAN, vlan] });
    await poolCondition(name, 'True', 'UnderlayChecksPassed');
    statusPatch('provider-networks.kubeovn.io', PN, { vlans: [VLAN] });
  });
});

function kubeOvnControllerDeployment(args: string[]): string {
  return JSON.stringify({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'kube-ovn-controller', namespace: 'kube-system' },
    spec: {
      replicas: 0,
      selector: { matchLabels: { app: 'kube-ovn-controller' } },
      template: {
        metadata: { labels: { app: 'kube-ovn-controller' } },
        spec: { containers: [{ name: 'kube-ovn-controller', image: 'kubeovn/kube-ovn:v1.14.0', args }] },
      },
    },
  });
}

