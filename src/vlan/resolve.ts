// Which interface of node N carries ARP/NDP for underlay subnet S (kube-ovn-underlay spec §3.3,
// rules of §6.3). Pure: the Kubernetes facts, a snapshot of the node's Open_vSwitch database and
// the node's kernel interface list go in, one interface or one reason comes out.
//
// MetalLB skips every interface that has a master, so an OVS-enslaved provider NIC is never used
// (MetalLB issue #871); what can carry the subnet's VLAN is the provider bridge `br-<P>` itself
// (untagged), a Kube-OVN VLAN internal port (Port.tag = VID, Interface.type = internal), or a
// kernel VLAN device with that VID stacked on `br-<P>`.
import { selectorMatches } from '../config/labelSelector.js';
import { providerReadyLabel, type ProviderNetworkFacts, type SubnetFacts, type VlanFacts } from '../underlay/kubeOvnObjects.js';
import { parseBridgeMappings, type OvsBridge, type OvsInterface, type OvsPort } from '../ovsdb/openvswitch.js';

/** Kube-OVN's node label templates (pkg/util/const.go; the docs' `ovn.` infix is not in the code). */
export const providerLabel = {
  ready: providerReadyLabel,
  interface: (p: string) => `${p}.provider-network.kubernetes.io/interface`,
  mtu: (p: string) => `${p}.provider-network.kubernetes.io/mtu`,
  exclude: (p: string) => `${p}.provider-network.kubernetes.io/exclude`,
  vlanInterfaces: (p: string) => `${p}.provider-network.kubernetes.io/vlan_interfaces`,
} as const;

/** The node as discovery sees it (its name and labels; the election has its own richer NodeFacts). */
export interface NodeLabels {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
}

// The Kube-OVN facts are defined once, in src/underlay/kubeOvnObjects.ts (the same parser serves the
// controller's checks); discovery names only the fields it reads.
/** spec.vlan (the NAME of a Vlan; empty = not underlay) and status.conditions (only an explicit False of Validated/Ready disqualifies). */
export type ResolveSubnet = Pick<SubnetFacts, 'name' | 'vlan' | 'conditions'>;
/** Which NIC each node bridges and whether Kube-OVN set it up there (nodeSelector, when set, overrides excludeNodes). */
export type ResolveProviderNetwork = Pick<ProviderNetworkFacts, 'name' | 'defaultInterface' | 'customInterfaces' | 'excludeNodes' | 'nodeSelector' | 'status'>;

/** The node's local Open_vSwitch database, as far as discovery reads it. */
export interface OvsSnapshot {
  /** external_ids of the Open_vSwitch row (ovn-bridge-mappings, system-id, ...). */
  readonly externalIds: ReadonlyMap<string, string>;
  readonly bridges: readonly OvsBridge[];
  readonly ports: readonly OvsPort[];
  readonly interfaces: readonly OvsInterface[];
}

/** One kernel network interface of the node's network namespace. */
export interface KernelInterface {
  readonly name: string;
  /** Administratively up (IFF_UP). */
  readonly up: boolean;
  /** Carrier (LOWER_UP). */
  readonly lowerUp: boolean;
  /** Name of the master device (a bridge, bond, `ovs-system`), if enslaved. */
  readonly master?: string;
  readonly hasIPv6LinkLocal: boolean;
  readonly mac?: string;
  /** Set for a kernel 802.1Q device: its VID and the parent device's name. */
  readonly vlan?: { readonly id: number; readonly parent: string };
}

export type AddressFamily = 'IPv4' | 'IPv6';

export interface ResolveInput {
  readonly node: NodeLabels;
  readonly subnet: ResolveSubnet;
  /** The Vlan named by subnet.vlan; undefined when it does not exist. */
  readonly vlan: VlanFacts | undefined;
  /** The ProviderNetwork named by vlan.provider; undefined when it does not exist. */
  readonly providerNetwork: ResolveProviderNetwork | undefined;
  /** undefined while the local OVSDB has not been read (no socket, not connected yet). */
  readonly ovs: OvsSnapshot | undefined;
  readonly kernel: readonly KernelInterface[];
  /** Families to announce (default IPv4 only). IPv6 needs a link-local address for NDP. */
  readonly families?: readonly AddressFamily[];
}

export type AnnounceHow =
  /** VLAN untagged (Vlan.id 0), or the NIC is itself a kernel VLAN device that tags egress. */
  | 'provider-bridge'
  /** OVS internal port on br-<P> with Port.tag = VID (Kube-OVN vlanInterfaces). */
  | 'vlan-internal-port'
  /** Kernel VLAN device with the VID whose parent is br-<P>. */
  | 'vlan-device-on-bridge';

export type ResolveWarningReason = 'NoIPv6LinkLocal' | 'LocalnetPortMissing';

export interface ResolveWarning {
  readonly reason: ResolveWarningReason;
  readonly message: string;
}

export interface AnnounceInterface {
  readonly ok: true;
  readonly interface: string;
  /** The VLAN ID the frames carry on the wire (0 = untagged). */
  readonly vlanId: number;
  readonly how: AnnounceHow;
  readonly provider: string;
  readonly bridge: string;
  /** The provider NIC enslaved to the bridge (never announced on). */
  readonly nic: string;
  /** Families that can be announced on it (IPv6 only with a link-local address). */
  readonly families: readonly AddressFamily[];
  /** OVN has wired the subnet on this node (patch port with ovn-localnet-port=localnet.<S>). */
  readonly localnetPort: boolean;
  readonly warnings: readonly ResolveWarning[];
}

export type ResolveFailureReason =
  | 'SubnetNotUnderlay'
  | 'SubnetNotReady'
  | 'VlanNotFound'
  | 'ProviderNetworkNotFound'
  | 'NodeExcluded'
  | 'ProviderNetworkNotReady'
  | 'OvsdbUnavailable'
  | 'NoAnnounceInterface'
  | 'NoIPv6LinkLocal';

export interface ResolveFailure {
  readonly ok: false;
  readonly reason: ResolveFailureReason;
  readonly message: string;
}

export type ResolveResult = AnnounceInterface | ResolveFailure;

/**
 * Kube-OVN's name for the VLAN internal port of provider `p` and VLAN `vid`: `br-<p>-vlan<vid>`,
 * or `kv<vid>-<hash>` when that exceeds the kernel's 15 characters (util.VlanInternalPortName).
 * The hash here (FNV-1a of the provider name) is our stand-in for Kube-OVN's: discovery never
 * depends on the name, it classifies ports by tag and type.
 */
export function vlanInternalPortName(provider: string, vid: number): string {
  const plain = `br-${provider}-vlan${vid}`;
  if (plain.length <= 15) return plain;
  let h = 0x811c9dc5;
  for (const ch of provider) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
  const head = `kv${vid}-`;
  return head + h.toString(16).padStart(8, '0').slice(0, 15 - head.length);
}

function fail(reason: ResolveFailureReason, message: string): ResolveFailure {
  return { ok: false, reason, message };
}

/** The NIC Kube-OVN bridges on this node: its label first, then customInterfaces, then defaultInterface. */
export function providerNicFor(node: NodeLabels, pn: ResolveProviderNetwork): string {
  const labelled = node.labels[providerLabel.interface(pn.name)];
  if (labelled) return labelled;
  const custom = pn.customInterfaces.find((c) => c.nodes.includes(node.name));
  return custom?.interface ?? pn.defaultInterface;
}

function nodeExcluded(node: NodeLabels, pn: ResolveProviderNetwork): string | undefined {
  if (node.labels[providerLabel.exclude(pn.name)] === 'true') return `it carries the label ${providerLabel.exclude(pn.name)}=true`;
  if (pn.nodeSelector) {
    return selectorMatches(pn.nodeSelector, node.labels) ? undefined : `ProviderNetwork "${pn.name}" spec.nodeSelector does not match its labels`;
  }
  if (pn.excludeNodes.includes(node.name)) return `ProviderNetwork "${pn.name}" lists it in spec.excludeNodes`;
  return undefined;
}

/** Runs spec §3.3 for subnet S on node N. */
export function resolveAnnounceInterface(input: ResolveInput): ResolveResult {
  const { node, subnet, vlan, providerNetwork: pn } = input;
  const families = input.families?.length ? input.families : (['IPv4'] as const);
  const on = `node ${node.name}, subnet "${subnet.name}"`;

  // 1. Kubernetes API: S -> Vlan -> ProviderNetwork, node labels, readiness.
  if (!subnet.vlan) return fail('SubnetNotUnderlay', `${on}: spec.vlan is empty, so the subnet is not an underlay subnet and has no VLAN to announce on; set spec.vlan to the name of a Vlan`);
  const bad = subnet.conditions.find((c) => (c.type === 'Validated' || c.type === 'Ready') && c.status === 'False');
  if (bad) return fail('SubnetNotReady', `${on}: status condition ${bad.type} is False; fix the Subnet until Kube-OVN validates it`);
  if (!vlan) return fail('VlanNotFound', `${on}: spec.vlan names Vlan "${subnet.vlan}", which does not exist; create it or fix spec.vlan`);
  if (!vlan.provider) return fail('ProviderNetworkNotFound', `${on}: Vlan "${vlan.name}" has no spec.provider; set it to the ProviderNetwork name`);
  if (!pn) return fail('ProviderNetworkNotFound', `${on}: Vlan "${vlan.name}" names ProviderNetwork "${vlan.provider}", which does not exist`);
  const p = pn.name;
  const excluded = nodeExcluded(node, pn);
  if (excluded) return fail('NodeExcluded', `${on}: the node is excluded from ProviderNetwork "${p}" (${excluded})`);
  const readyLabel = providerLabel.ready(p);
  if (node.labels[readyLabel] !== 'true') {
    return fail('ProviderNetworkNotReady', `${on}: the node lacks the label ${readyLabel}=true, so kube-ovn-cni has not set up ProviderNetwork "${p}" here (see the InitOVSBridgeFailed events of the ProviderNetwork)`);
  }
  if (pn.status.notReadyNodes.includes(node.name)) {
    return fail('ProviderNetworkNotReady', `${on}: ProviderNetwork "${p}" status.notReadyNodes lists the node`);
  }
  if (!pn.status.vlans.includes(vlan.name)) {
    return fail('ProviderNetworkNotReady', `${on}: ProviderNetwork "${p}" status.vlans does not list Vlan "${vlan.name}" (${JSON.stringify(pn.status.vlans)}); Kube-OVN has not bound the Vlan yet`);
  }
  const nic = providerNicFor(node, pn);

  // 2. OVSDB: provider -> bridge, the bridge's ports classified.
  const ovs = input.ovs;
  if (!ovs) return fail('OvsdbUnavailable', `${on}: the node's Open_vSwitch database has not been read (is ovsdb-server running and its socket mounted?)`);
  const bridgeName = parseBridgeMappings(ovs.externalIds.get('ovn-bridge-mappings')).get(p);
  if (!bridgeName) {
    return fail('NoAnnounceInterface', `${on}: Open_vSwitch external_ids:ovn-bridge-mappings (${JSON.stringify(ovs.externalIds.get('ovn-bridge-mappings') ?? '')}) has no entry for provider "${p}"`);
  }
  const bridge = ovs.bridges.find((b) => b.name === bridgeName);
  if (!bridge) return fail('NoAnnounceInterface', `${on}: ovn-bridge-mappings maps "${p}" to bridge ${bridgeName}, which is not in the OVSDB`);
  const portsByUuid = new Map(ovs.ports.map((x) => [x.uuid, x]));
  const ifacesByUuid = new Map(ovs.interfaces.map((x) => [x.uuid, x]));
  const ports = bridge.ports.map((u) => portsByUuid.get(u)).filter((x): x is OvsPort => x !== undefined);
  const ifacesOf = (port: OvsPort) => port.interfaces.map((u) => ifacesByUuid.get(u)).filter((x): x is OvsInterface => x !== undefined);
  // Kernel devices enslaved to the bridge: never an announce interface (MetalLB skips them).
  const systemPorts = ports.filter((x) => ifacesOf(x).some((i) => i.type === '' || i.type === 'system'));
  const nicPort = systemPorts.find((x) => x.name === nic);
  if (!nicPort) {
    return fail('NoAnnounceInterface', `${on}: the provider NIC ${nic} of ProviderNetwork "${p}" is not a port of ${bridgeName} (ports: ${ports.map((x) => x.name).join(', ') || 'none'})`);
  }
  const localnetPort = ports.some((x) => x.externalIds.get('ovn-localnet-port') === `localnet.${subnet.name}`);
  const kernelByName = new Map(input.kernel.map((k) => [k.name, k]));

  // 3. Host: a NIC that is itself a kernel VLAN device tags egress.
  const nicVlan = kernelByName.get(nic)?.vlan;

  // 4. Choose.
  let chosen: { name: string; how: AnnounceHow; vlanId: number };
  if (nicVlan) {
    if (vlan.id !== 0) {
      return fail('NoAnnounceInterface', `${on}: the provider NIC ${nic} is a VLAN device (id ${nicVlan.id} on ${nicVlan.parent}) and Vlan "${vlan.name}" has id ${vlan.id}, so frames would be double-tagged; set the Vlan's id to 0 (Kube-OVN's recommendation for a VLAN subinterface)`);
    }
    chosen = { name: bridgeName, how: 'provider-bridge', vlanId: nicVlan.id };
  } else if (vlan.id === 0) {
    chosen = { name: bridgeName, how: 'provider-bridge', vlanId: 0 };
  } else {
    const k = vlan.id;
    if (nicPort.tag !== null && nicPort.tag !== k) {
      return fail('NoAnnounceInterface', `${on}: the provider NIC port ${nic} on ${bridgeName} is an access port of VLAN ${nicPort.tag}, not a trunk carrying VLAN ${k}`);
    }
    if (nicPort.tag === null && nicPort.trunks.length > 0 && !nicPort.trunks.includes(k)) {
      return fail('NoAnnounceInterface', `${on}: the provider NIC port ${nic} on ${bridgeName} trunks VLANs [${nicPort.trunks.join(', ')}], not ${k}; Kube-OVN adds the Vlan ids of status.vlans to it`);
    }
    const internal = ports.find((x) => x.tag === k && ifacesOf(x).some((i) => i.type === 'internal'));
    const device = input.kernel.find((d) => d.vlan?.id === k && d.vlan.parent === bridgeName);
    if (internal) {
      const iface = ifacesOf(internal).find((i) => i.type === 'internal') as OvsInterface;
      chosen = { name: iface.name, how: 'vlan-internal-port', vlanId: k };
    } else if (device) {
      chosen = { name: device.name, how: 'vlan-device-on-bridge', vlanId: k };
    } else {
      return fail('NoAnnounceInterface', `${on}: VLAN ${k} (Vlan "${vlan.name}") has no VLAN internal port on ${bridgeName} (Port.tag=${k}, Interface.type=internal) and no kernel VLAN device with id ${k} on ${bridgeName}; ${bridgeName} itself is untagged, so ARP would leave in the wrong VLAN. Add "${nic}.${k}" to spec.vlanInterfaces of ProviderNetwork "${p}" (Kube-OVN creates ${vlanInternalPortName(p, k)})`);
    }
  }

  // Re-check in the kernel: present, up, not enslaved, and never a port's own kernel device.
  const dev = kernelByName.get(chosen.name);
  if (systemPorts.some((x) => x.name === chosen.name || ifacesOf(x).some((i) => i.name === chosen.name))) {
    return fail('NoAnnounceInterface', `${on}: ${chosen.name} is a kernel device enslaved to ${bridgeName}; announcing on it is never right (MetalLB skips interfaces with a master)`);
  }
  if (!dev) return fail('NoAnnounceInterface', `${on}: ${chosen.name} (${chosen.how}) is in the OVSDB but not in the node's network namespace`);
  if (dev.master) return fail('NoAnnounceInterface', `${on}: ${chosen.name} has master ${dev.master}; an enslaved interface cannot announce`);
  if (!dev.up || !dev.lowerUp) return fail('NoAnnounceInterface', `${on}: ${chosen.name} is ${dev.up ? 'up without carrier' : 'down'}; bring it up (ip link set ${chosen.name} up)`);

  const warnings: ResolveWarning[] = [];
  let usable: AddressFamily[] = [...families];
  if (families.includes('IPv6') && !dev.hasIPv6LinkLocal) {
    const msg = `${on}: ${chosen.name} has no IPv6 link-local address, so NDP cannot be answered on it (is IPv6 disabled on the interface?)`;
    if (!families.includes('IPv4')) return fail('NoIPv6LinkLocal', msg);
    warnings.push({ reason: 'NoIPv6LinkLocal', message: msg });
    usable = usable.filter((f) => f !== 'IPv6');
  }
  if (!localnetPort) {
    warnings.push({ reason: 'LocalnetPortMissing', message: `node ${node.name}: patch-localnet.${subnet.name}-to-br-int not present; Kube-OVN will not install the VIP flow until the subnet has a local pod` });
  }
  return { ok: true, interface: chosen.name, vlanId: chosen.vlanId, how: chosen.how, provider: p, bridge: bridgeName, nic, families: usable, localnetPort, warnings };
}

/** Two results announce the same way (same interface, VLAN, families), or fail the same way. */
export function sameResolution(a: ResolveResult | undefined, b: ResolveResult | undefined): boolean {
  if (!a || !b) return a === b;
  if (a.ok !== b.ok) return false;
  if (a.ok && b.ok) return a.interface === b.interface && a.vlanId === b.vlanId && a.how === b.how && a.families.join() === b.families.join();
  return !a.ok && !b.ok && a.reason === b.reason && a.message === b.message;
}
