import { describe, expect, it } from 'vitest';
import type { OvsBridge, OvsInterface, OvsPort } from '../../src/ovsdb/openvswitch.js';
import { parseIpAddressJson } from '../../src/vlan/kernelInterfaces.js';
import {
  providerLabel, resolveAnnounceInterface, sameResolution, vlanInternalPortName,
  type KernelInterface, type OvsSnapshot, type ResolveInput, type ResolveResult,
} from '../../src/vlan/resolve.js';
import { providerNetworkFacts, subnetFacts, vlanFacts } from '../../src/underlay/kubeOvnObjects.js';

const P = 'provider';
const BR = 'br-provider';
const VPORT = vlanInternalPortName(P, 341);

let seq = 0;
const uuid = () => `00000000-0000-4000-8000-${(++seq).toString(16).padStart(12, '0')}`;

interface PortSpec { name: string; ifType: string; tag?: number; trunks?: number[]; externalIds?: Record<string, string>; ifName?: string }

function ovs(opts: { mappings?: string; bridge?: string; ports: PortSpec[] }): OvsSnapshot {
  const ports: OvsPort[] = [];
  const interfaces: OvsInterface[] = [];
  for (const p of opts.ports) {
    const i: OvsInterface = {
      uuid: uuid(), name: p.ifName ?? p.name, type: p.ifType, macInUse: null, ofport: 1, mtu: 1500, linkState: 'up', adminState: 'up',
      externalIds: new Map(), options: new Map(), status: new Map(),
    };
    interfaces.push(i);
    ports.push({ uuid: uuid(), name: p.name, interfaces: [i.uuid], tag: p.tag ?? null, trunks: p.trunks ?? [], vlanMode: null, externalIds: new Map(Object.entries(p.externalIds ?? {})) });
  }
  const bridge: OvsBridge = { uuid: uuid(), name: opts.bridge ?? BR, ports: ports.map((p) => p.uuid), externalIds: new Map([['vendor', 'kube-ovn']]), otherConfig: new Map(), datapathType: 'netdev' };
  return { externalIds: new Map([['ovn-bridge-mappings', opts.mappings ?? `${P}:${BR}`]]), bridges: [bridge], ports, interfaces };
}

const kdev = (name: string, extra: Partial<KernelInterface> = {}): KernelInterface => ({ name, up: true, lowerUp: true, hasIPv6LinkLocal: true, ...extra });

const trunkPorts = (): PortSpec[] => [
  { name: BR, ifType: 'internal' },
  { name: 'eth1', ifType: '', trunks: [0, 341] },
  { name: VPORT, ifType: 'internal', tag: 341, externalIds: { vendor: 'kube-ovn', 'provider-vlan-interface': 'eth1.341' } },
  { name: 'patch-localnet.underlay-subnet-to-br-int', ifType: 'patch', externalIds: { 'ovn-localnet-port': 'localnet.underlay-subnet' } },
];

// The facts come from the same parser the speaker and the controller use (src/underlay/kubeOvnObjects.ts).
const pn = providerNetworkFacts({ metadata: { name: P }, spec: { defaultInterface: 'eth1' }, status: { ready: true, vlans: ['vlan341'] } });
const subnet = (spec: Record<string, unknown>, conditions: { type: string; status: string }[] = []) =>
  subnetFacts({ metadata: { name: 'underlay-subnet' }, spec: { provider: 'ovn', ...spec }, status: { conditions } });
const vlan = (id: number) => vlanFacts({ metadata: { name: 'vlan341' }, spec: { id, provider: P } });

function base(over: Partial<ResolveInput> = {}): ResolveInput {
  return {
    node: { name: 'node-1', labels: { [providerLabel.ready(P)]: 'true', [providerLabel.interface(P)]: 'eth1' } },
    subnet: subnet({ vlan: 'vlan341' }),
    vlan: vlan(341),
    providerNetwork: pn,
    ovs: ovs({ ports: trunkPorts() }),
    kernel: [kdev('lo'), kdev('eth1', { master: 'ovs-netdev' }), kdev(BR), kdev(VPORT)],
    ...over,
  };
}

function failure(r: ResolveResult): { reason: string; message: string } {
  expect(r.ok).toBe(false);
  if (r.ok) throw new Error('unreachable');
  return r;
}

describe('resolveAnnounceInterface', () => {
  it('VLAN 341 on a trunk NIC: the VLAN internal port with tag 341', () => {
    const r = resolveAnnounceInterface(base());
    expect(r).toMatchObject({ ok: true, interface: VPORT, vlanId: 341, how: 'vlan-internal-port', bridge: BR, nic: 'eth1', provider: P, localnetPort: true, families: ['IPv4'], warnings: [] });
  });

  it('Vlan id 0: the provider bridge itself, untagged', () => {
    const r = resolveAnnounceInterface(base({ vlan: vlan(0) }));
    expect(r).toMatchObject({ ok: true, interface: BR, vlanId: 0, how: 'provider-bridge' });
  });

  it('NIC that is a kernel VLAN device (underlay0.341) with Vlan id 0: the bridge, on-wire VID from the device', () => {
    const r = resolveAnnounceInterface(base({
      node: { name: 'node-1', labels: { [providerLabel.ready(P)]: 'true', [providerLabel.interface(P)]: 'underlay0.341' } },
      vlan: vlan(0),
      ovs: ovs({ ports: [{ name: BR, ifType: 'internal' }, { name: 'underlay0.341', ifType: '' }] }),
      kernel: [kdev('underlay0', {}), kdev('underlay0.341', { master: 'ovs-system', vlan: { id: 341, parent: 'underlay0' } }), kdev(BR)],
    }));
    expect(r).toMatchObject({ ok: true, interface: BR, vlanId: 341, how: 'provider-bridge', nic: 'underlay0.341' });
  });

  it('NIC that is a VLAN device and Vlan id != 0 would double-tag', () => {
    const f = failure(resolveAnnounceInterface(base({
      node: { name: 'node-1', labels: { [providerLabel.ready(P)]: 'true', [providerLabel.interface(P)]: 'underlay0.341' } },
      ovs: ovs({ ports: [{ name: BR, ifType: 'internal' }, { name: 'underlay0.341', ifType: '' }] }),
      kernel: [kdev('underlay0.341', { master: 'ovs-system', vlan: { id: 341, parent: 'underlay0' } }), kdev(BR)],
    })));
    expect(f.reason).toBe('NoAnnounceInterface');
    expect(f.message).toContain('double-tagged');
  });

  it('a kernel VLAN device on br-<P> when there is no internal port', () => {
    const r = resolveAnnounceInterface(base({
      ovs: ovs({ ports: trunkPorts().filter((p) => p.name !== VPORT) }),
      kernel: [kdev('eth1', { master: 'ovs-netdev' }), kdev(BR), kdev('br-provider.341', { vlan: { id: 341, parent: BR } })],
    }));
    expect(r).toMatchObject({ ok: true, interface: 'br-provider.341', vlanId: 341, how: 'vlan-device-on-bridge' });
  });

  it('no interface in VLAN 341: NoAnnounceInterface naming node, subnet and the fix', () => {
    const f = failure(resolveAnnounceInterface(base({ ovs: ovs({ ports: trunkPorts().filter((p) => p.name !== VPORT) }) })));
    expect(f.reason).toBe('NoAnnounceInterface');
    expect(f.message).toContain('node node-1, subnet "underlay-subnet"');
    expect(f.message).toContain('no VLAN internal port on br-provider');
    expect(f.message).toContain('"eth1.341" to spec.vlanInterfaces');
  });

  it('an internal port with another tag does not count', () => {
    const ports = trunkPorts().map((p) => (p.name === VPORT ? { ...p, tag: 342 } : p));
    expect(failure(resolveAnnounceInterface(base({ ovs: ovs({ ports }) }))).reason).toBe('NoAnnounceInterface');
  });

  it('NIC trunk that does not carry the VID', () => {
    const ports = trunkPorts().map((p) => (p.name === 'eth1' ? { ...p, trunks: [0, 100] } : p));
    expect(failure(resolveAnnounceInterface(base({ ovs: ovs({ ports }) }))).message).toContain('trunks VLANs [0, 100], not 341');
  });

  it('NIC as an access port of another VLAN', () => {
    const ports = trunkPorts().map((p) => (p.name === 'eth1' ? { ...p, trunks: [], tag: 100 } : p));
    expect(failure(resolveAnnounceInterface(base({ ovs: ovs({ ports }) }))).message).toContain('access port of VLAN 100');
  });

  it('empty trunks = all VLANs', () => {
    const ports = trunkPorts().map((p) => (p.name === 'eth1' ? { ...p, trunks: [] } : p));
    expect(resolveAnnounceInterface(base({ ovs: ovs({ ports }) })).ok).toBe(true);
  });

  it('not an underlay subnet', () => {
    expect(failure(resolveAnnounceInterface(base({ subnet: subnet({ vlan: '' }) }))).reason).toBe('SubnetNotUnderlay');
  });

  it('Subnet with Validated=False', () => {
    const f = failure(resolveAnnounceInterface(base({ subnet: subnet({ vlan: 'vlan341' }, [{ type: 'Validated', status: 'False' }]) })));
    expect(f.reason).toBe('SubnetNotReady');
  });

  it('missing Vlan and ProviderNetwork', () => {
    expect(failure(resolveAnnounceInterface(base({ vlan: undefined }))).reason).toBe('VlanNotFound');
    const f = failure(resolveAnnounceInterface(base({ providerNetwork: undefined })));
    expect(f.reason).toBe('ProviderNetworkNotFound');
    expect(f.message).toContain('ProviderNetwork "provider"');
  });

  it('node without the ready label: ProviderNetworkNotReady', () => {
    const f = failure(resolveAnnounceInterface(base({ node: { name: 'node-1', labels: {} } })));
    expect(f.reason).toBe('ProviderNetworkNotReady');
    expect(f.message).toContain('provider.provider-network.kubernetes.io/ready=true');
  });

  it('Vlan not in status.vlans, or node in notReadyNodes: ProviderNetworkNotReady', () => {
    expect(failure(resolveAnnounceInterface(base({ providerNetwork: { ...pn, status: { ...pn.status, vlans: [] } } }))).message).toContain('status.vlans does not list Vlan "vlan341"');
    expect(failure(resolveAnnounceInterface(base({ providerNetwork: { ...pn, status: { ...pn.status, notReadyNodes: ['node-1'] } } }))).reason).toBe('ProviderNetworkNotReady');
  });

  it('excluded nodes: label, excludeNodes, nodeSelector (which overrides excludeNodes)', () => {
    const labels = { [providerLabel.ready(P)]: 'true', [providerLabel.exclude(P)]: 'true' };
    expect(failure(resolveAnnounceInterface(base({ node: { name: 'node-1', labels } }))).reason).toBe('NodeExcluded');
    expect(failure(resolveAnnounceInterface(base({ providerNetwork: { ...pn, excludeNodes: ['node-1'] } }))).message).toContain('spec.excludeNodes');
    const sel = { matchLabels: { underlay: 'yes' }, matchExpressions: [] };
    expect(failure(resolveAnnounceInterface(base({ providerNetwork: { ...pn, nodeSelector: sel } }))).message).toContain('nodeSelector');
    const node = { name: 'node-1', labels: { [providerLabel.ready(P)]: 'true', underlay: 'yes' } };
    expect(resolveAnnounceInterface(base({ node, providerNetwork: { ...pn, nodeSelector: sel, excludeNodes: ['node-1'] } })).ok).toBe(true);
  });

  it('NIC from customInterfaces, then defaultInterface, when the node has no interface label', () => {
    const node = { name: 'node-1', labels: { [providerLabel.ready(P)]: 'true' } };
    expect(resolveAnnounceInterface(base({ node })).ok).toBe(true); // defaultInterface eth1
    const custom = { ...pn, customInterfaces: [{ interface: 'eth9', nodes: ['node-1'] }] };
    expect(failure(resolveAnnounceInterface(base({ node, providerNetwork: custom }))).message).toContain('provider NIC eth9');
  });

  it('no OVSDB snapshot, no mapping, no bridge', () => {
    expect(failure(resolveAnnounceInterface(base({ ovs: undefined }))).reason).toBe('OvsdbUnavailable');
    expect(failure(resolveAnnounceInterface(base({ ovs: ovs({ mappings: 'other:br-other', ports: trunkPorts() }) }))).message).toContain('no entry for provider "provider"');
    expect(failure(resolveAnnounceInterface(base({ ovs: ovs({ bridge: 'br-x', ports: trunkPorts() }) }))).message).toContain('not in the OVSDB');
  });

  it('kernel checks: missing, down, enslaved', () => {
    expect(failure(resolveAnnounceInterface(base({ kernel: [kdev(BR)] }))).message).toContain('not in the node\'s network namespace');
    expect(failure(resolveAnnounceInterface(base({ kernel: [kdev(VPORT, { up: false })] }))).message).toContain('is down');
    expect(failure(resolveAnnounceInterface(base({ kernel: [kdev(VPORT, { lowerUp: false })] }))).message).toContain('without carrier');
    expect(failure(resolveAnnounceInterface(base({ kernel: [kdev(VPORT, { master: 'br9' })] }))).message).toContain('master br9');
  });

  it('never the enslaved NIC, even if the bridge mapping points at it', () => {
    const f = failure(resolveAnnounceInterface(base({
      vlan: vlan(0),
      ovs: ovs({ bridge: 'eth1', mappings: `${P}:eth1`, ports: [{ name: 'eth1', ifType: '' }] }),
      kernel: [kdev('eth1')],
    })));
    expect(f.message).toContain('enslaved');
  });

  it('IPv6 without link-local: error for IPv6 only, warning for dual stack', () => {
    const kernel = [kdev(VPORT, { hasIPv6LinkLocal: false })];
    expect(failure(resolveAnnounceInterface(base({ kernel, families: ['IPv6'] }))).reason).toBe('NoIPv6LinkLocal');
    const r = resolveAnnounceInterface(base({ kernel, families: ['IPv4', 'IPv6'] }));
    expect(r).toMatchObject({ ok: true, families: ['IPv4'] });
    expect(r.ok && r.warnings.map((w) => w.reason)).toEqual(['NoIPv6LinkLocal']);
    expect(resolveAnnounceInterface(base({ families: ['IPv4', 'IPv6'] }))).toMatchObject({ ok: true, families: ['IPv4', 'IPv6'] });
  });

  it('no localnet patch port: ok with a LocalnetPortMissing warning', () => {
    const r = resolveAnnounceInterface(base({ ovs: ovs({ ports: trunkPorts().filter((p) => p.ifType !== 'patch') }) }));
    expect(r).toMatchObject({ ok: true, localnetPort: false });
    // Spec 6.3's exact message.
    expect(r.ok && r.warnings).toEqual([{ reason: 'LocalnetPortMissing', message: 'node node-1: patch-localnet.underlay-subnet-to-br-int not present; Kube-OVN will not install the VIP flow until the subnet has a local pod' }]);
  });

  it('sameResolution compares interface/VLAN/families or reason/message', () => {
    const a = resolveAnnounceInterface(base());
    expect(sameResolution(a, resolveAnnounceInterface(base()))).toBe(true);
    expect(sameResolution(a, resolveAnnounceInterface(base({ vlan: vlan(0) })))).toBe(false);
    expect(sameResolution(a, undefined)).toBe(false);
    expect(sameResolution(undefined, undefined)).toBe(true);
  });
});

describe('vlanInternalPortName', () => {
  it('br-<p>-vlan<vid> when it fits in 15 characters, kv<vid>-<hash> otherwise', () => {
    expect(vlanInternalPortName('p1', 341)).toBe('br-p1-vlan341');
    const long = vlanInternalPortName('provider', 341);
    expect(long).toMatch(/^kv341-[0-9a-f]+$/);
    expect(long.length).toBeLessThanOrEqual(15);
    expect(vlanInternalPortName('provider2', 341)).not.toBe(long);
  });
});

describe('parseIpAddressJson', () => {
  it('reads flags, master, link-local, and 802.1Q parent/VID', () => {
    const text = JSON.stringify([
      { ifname: 'eth1', flags: ['BROADCAST', 'UP', 'LOWER_UP'], master: 'ovs-system', address: '02:00:00:00:00:01', addr_info: [{ family: 'inet', scope: 'global' }] },
      { ifname: 'eth1.341', flags: ['UP'], link: 'eth1', linkinfo: { info_kind: 'vlan', info_data: { protocol: '802.1Q', id: 341 } }, addr_info: [{ family: 'inet6', scope: 'link' }] },
      { flags: ['UP'] },
    ]);
    expect(parseIpAddressJson(text)).toEqual([
      { name: 'eth1', up: true, lowerUp: true, master: 'ovs-system', hasIPv6LinkLocal: false, mac: '02:00:00:00:00:01' },
      { name: 'eth1.341', up: true, lowerUp: false, hasIPv6LinkLocal: true, vlan: { id: 341, parent: 'eth1' } },
    ]);
    expect(() => parseIpAddressJson('{}')).toThrow(/JSON array/);
  });
});
