// The speaker's Kube-OVN underlay side (spec kube-ovn-underlay.md 6.3): which Service IPs live in
// an underlay (VLAN) Subnet, which nodes may announce them (provider network ready on the node),
// and on which interface this node answers for them (the VLAN port, resolved from the local OVSDB
// by src/vlan). Absent Kube-OVN CRDs = no underlay: the speaker behaves exactly as MetalLB's.
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { KubeOvnSource } from '../k8s/kubeOvnSource.js';
import { parseIp } from '../net/address.js';
import { cidrContains } from '../net/address.js';
import { providerNetworkFacts, providerReadyLabel, subnetFacts, vlanFacts, type SubnetFacts } from '../underlay/kubeOvnObjects.js';
import { candidateProblems } from '../underlay/rules.js';
import { UnderlayInterfaces, type InterfaceChange } from '../vlan/underlayInterfaces.js';
import type { UnderlayFacts } from './announcements.js';
import type { NodeFacts } from './election.js';

/** How long after the OVSDB monitor starts an unresolved interface counts as "Resolving" (no Warning event). */
const RESOLVE_GRACE_MS = 10_000;

export interface SpeakerUnderlayOptions {
  readonly nodeName: string;
  readonly log: Logger;
  /** The node's OVSDB (default unix:/var/run/openvswitch/db.sock). */
  readonly ovsdbEndpoint?: string;
  /** Something changed (Kube-OVN objects, the OVSDB, an interface): reconcile again. */
  readonly onChange: (change?: InterfaceChange) => void;
}

export class SpeakerUnderlay {
  private readonly source: KubeOvnSource;
  private interfaces: UnderlayInterfaces | undefined;
  private kubeStateKey = '';
  private interfacesStartedAt = 0;

  constructor(kc: KubeConfig, private readonly opts: SpeakerUnderlayOptions) {
    this.source = new KubeOvnSource(kc, opts.log, () => opts.onChange(), { kinds: ['subnets', 'vlans', 'provider-networks'], controllerDeployment: false });
  }

  start(): Promise<void> {
    return this.source.start();
  }

  async stop(): Promise<void> {
    this.source.stop();
    await this.interfaces?.close();
  }

  /**
   * The underlay facts for one reconcile pass, or undefined when no candidate underlay Subnet
   * exists (then nothing changes for any Service). Starts the OVSDB monitor on first need.
   */
  facts(self: NodeFacts | undefined): UnderlayFacts | undefined {
    if (!this.source.present || !self) return undefined;
    const subnets = this.source.list('subnets').map(subnetFacts).filter((s) => candidateProblems(s).length === 0);
    if (subnets.length === 0) return undefined;
    const vlans = this.source.list('vlans').map(vlanFacts);
    const providerNetworks = this.source.list('provider-networks').map(providerNetworkFacts);
    const interfaces = this.ensureInterfaces();
    const kubeState = { node: { name: self.name, labels: self.labels }, subnets, vlans, providerNetworks };
    const key = JSON.stringify(kubeState, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
    if (key !== this.kubeStateKey) {
      this.kubeStateKey = key;
      interfaces.setKubeState(kubeState);
    }
    const providerOf = new Map(vlans.map((v) => [v.name, v.provider]));
    const nodeName = this.opts.nodeName;
    const startedAt = this.interfacesStartedAt;
    return {
      subnetOf(ip: string) {
        const parsed = parseIp(ip);
        if (!parsed) return undefined;
        const subnet = subnets.find((s: SubnetFacts) => {
          const cidr = s.cidrs[parsed.family];
          return cidr !== undefined && cidrContains(cidr, parsed.family, parsed.value);
        });
        const provider = subnet ? providerOf.get(subnet.vlan) : undefined;
        return subnet && provider ? { subnet: subnet.name, readyLabel: providerReadyLabel(provider) } : undefined;
      },
      interfaceFor(subnet: string) {
        const r = interfaces.interfaceFor(subnet);
        // The first OVSDB read takes a moment after start: "Resolving" is not worth a Warning event.
        const resolving = Date.now() - startedAt < RESOLVE_GRACE_MS;
        if (!r || (resolving && !r.ok && r.reason === 'OvsdbUnavailable')) {
          return { ok: false, reason: resolving ? 'Resolving' : 'OvsdbUnavailable', message: `node ${nodeName}, subnet "${subnet}": the announce interface is not resolved (local OVSDB ${interfaces.endpoint} not read yet)` };
        }
        return r.ok ? { ok: true, name: r.interface } : { ok: false, reason: r.reason, message: r.message };
      },
    };
  }

  private ensureInterfaces(): UnderlayInterfaces {
    if (this.interfaces) return this.interfaces;
    const log = this.opts.log;
    const u = new UnderlayInterfaces({
      ...(this.opts.ovsdbEndpoint ? { endpoint: this.opts.ovsdbEndpoint } : {}),
      log: (line) => log.info({ ovsdb: this.opts.ovsdbEndpoint ?? 'default' }, line),
    });
    u.on('change', (c: InterfaceChange) => {
      log.info({ change: c.kind, subnet: c.subnet, ...('current' in c && c.current.ok ? { interface: c.current.interface } : {}), ...('current' in c && !c.current.ok ? { reason: c.current.reason, message: c.current.message } : {}) }, 'underlay announce interface');
      this.opts.onChange(c);
    });
    void u.start().catch((e: unknown) => log.warn({ err: (e as Error).message }, 'underlay: OVSDB monitor did not start; retrying in the background'));
    this.interfaces = u;
    this.interfacesStartedAt = Date.now();
    return u;
  }
}
