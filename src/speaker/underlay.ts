// The speaker's Kube-OVN underlay side (spec kube-ovn-underlay.md 6.3): which Service IPs live in
// an underlay (VLAN) Subnet, which nodes may announce them (provider network ready on the node),
// and on which interface this node answers for them (the VLAN port, resolved from the local OVSDB
// by src/vlan). Absent Kube-OVN CRDs = no underlay: the speaker behaves exactly as MetalLB's.
import { existsSync, readFileSync } from 'node:fs';
import type { KubeRest } from '../k8s/rest.js';
import type { Logger } from 'pino';
import { KubeOvnSource } from '../k8s/kubeOvnSource.js';
import { parseIp } from '../net/address.js';
import { cidrContains } from '../net/address.js';
import { providerNetworkFacts, providerReadyLabel, subnetFacts, vlanFacts, type SubnetFacts } from '../underlay/kubeOvnObjects.js';
import { candidateProblems } from '../underlay/rules.js';
import type { AddressFamily } from '../vlan/resolve.js';
import { UnderlayInterfaces, type InterfaceChange } from '../vlan/underlayInterfaces.js';
import { DEFAULT_VERIFY_AFTER_MS, SUBNET_ANNOTATION, verifyUnderlayServices, type HostArpFacts, type UnderlayWarning } from '../vlan/verification.js';
import type { UnderlayFacts } from './announcements.js';
import type { NodeFacts } from './election.js';

/** How long after the OVSDB monitor starts an unresolved interface counts as "Resolving" (no Warning event). */
const RESOLVE_GRACE_MS = 10_000;
/** kube-ipvs0 / arp_ignore are re-read at most this often (they change rarely; reconciles are frequent). */
const HOST_ARP_REFRESH_MS = 10_000;

/** One underlay Service this node announces now (the speaker's decision plus the Service's annotations). */
export interface AnnouncedUnderlay {
  readonly service: string;
  readonly ips: readonly string[];
  readonly subnet: string;
  readonly annotations: Readonly<Record<string, string>>;
}

/** StrictARPRequired input, read in the speaker's own network namespace (the node's). */
export function readHostArpFacts(): HostArpFacts {
  let arpIgnore: string | undefined;
  try {
    arpIgnore = readFileSync('/proc/sys/net/ipv4/conf/all/arp_ignore', 'utf8').trim();
  } catch {
    arpIgnore = undefined;
  }
  return { kubeIpvs0: existsSync('/sys/class/net/kube-ipvs0'), arpIgnore };
}

export interface SpeakerUnderlayOptions {
  readonly nodeName: string;
  readonly log: Logger;
  /** The node's OVSDB (default unix:/var/run/openvswitch/db.sock). */
  readonly ovsdbEndpoint?: string;
  /** Something changed (Kube-OVN objects, the OVSDB, an interface): reconcile again. */
  readonly onChange: (change?: InterfaceChange) => void;
  /** KubeOVNNotProgrammed after this long without Kube-OVN's annotation (ms; default 30 s, spec 6.3). */
  readonly verifyAfterMs?: number;
  /** Host ARP facts (default readHostArpFacts; tests substitute). */
  readonly hostArp?: () => HostArpFacts;
}

export class SpeakerUnderlay {
  private readonly source: KubeOvnSource;
  private interfaces: UnderlayInterfaces | undefined;
  private kubeStateKey = '';
  private interfacesStartedAt = 0;
  private lastFacts: UnderlayFacts | undefined;
  /** service -> since when this node announces which IPs of which subnet. */
  private readonly announcingSince = new Map<string, { key: string; at: number }>();
  private verifyTimer: NodeJS.Timeout | undefined;
  private hostArp: { facts: HostArpFacts; readAt: number } | undefined;

  constructor(api: KubeRest, private readonly opts: SpeakerUnderlayOptions) {
    this.source = new KubeOvnSource(api, opts.log, () => opts.onChange(), { kinds: ['subnets', 'vlans', 'provider-networks'], controllerDeployment: false });
  }

  start(): Promise<void> {
    return this.source.start();
  }

  async stop(): Promise<void> {
    this.source.stop();
    if (this.verifyTimer) clearTimeout(this.verifyTimer);
    await this.interfaces?.close();
  }

  /**
   * The underlay facts for one reconcile pass, or undefined when no candidate underlay Subnet
   * exists (then nothing changes for any Service). Starts the OVSDB monitor on first need.
   */
  facts(self: NodeFacts | undefined): UnderlayFacts | undefined {
    this.lastFacts = undefined;
    if (!this.source.present || !self) return undefined;
    const subnets = this.source.list('subnets').map(subnetFacts).filter((s) => candidateProblems(s).length === 0);
    if (subnets.length === 0) return undefined;
    const vlans = this.source.list('vlans').map(vlanFacts);
    const providerNetworks = this.source.list('provider-networks').map(providerNetworkFacts);
    const interfaces = this.ensureInterfaces();
    // IPv6 in the subnet: the interface needs a link-local address for NDP (NoIPv6LinkLocal).
    const familiesBySubnet = new Map(subnets.map((s) => [s.name, [...(s.cidrs[4] ? ['IPv4' as const] : []), ...(s.cidrs[6] ? ['IPv6' as const] : [])] as AddressFamily[]]));
    const kubeState = { node: { name: self.name, labels: self.labels }, subnets, vlans, providerNetworks, familiesBySubnet };
    const key = JSON.stringify(kubeState, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v instanceof Map ? [...v] : v));
    if (key !== this.kubeStateKey) {
      this.kubeStateKey = key;
      interfaces.setKubeState(kubeState);
    }
    const providerOf = new Map(vlans.map((v) => [v.name, v.provider]));
    const nodeName = this.opts.nodeName;
    const startedAt = this.interfacesStartedAt;
    const facts: UnderlayFacts = {
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
        return r.ok ? { ok: true, name: r.interface, warnings: r.warnings } : { ok: false, reason: r.reason, message: r.message };
      },
    };
    this.lastFacts = facts;
    return facts;
  }

  /**
   * The verification warnings (spec 6.3) of the underlay Services this node announces now, per
   * Service. Call once per reconcile with all of them: a Service missing from the list starts its
   * 30 s again when it comes back. Arms a timer that reconciles again when a check falls due.
   */
  verify(announced: readonly AnnouncedUnderlay[]): ReadonlyMap<string, readonly UnderlayWarning[]> {
    const now = Date.now();
    const seen = new Set<string>();
    const services = announced.map((a) => {
      const key = `${a.subnet}|${a.ips.join(',')}`;
      let since = this.announcingSince.get(a.service);
      if (since?.key !== key) {
        since = { key, at: now };
        this.announcingSince.set(a.service, since);
      }
      seen.add(a.service);
      return { service: a.service, ips: a.ips, subnet: a.subnet, subnetAnnotation: a.annotations[SUBNET_ANNOTATION], announcingSinceMs: since.at };
    });
    for (const service of [...this.announcingSince.keys()]) if (!seen.has(service)) this.announcingSince.delete(service);
    const facts = this.lastFacts;
    const result = verifyUnderlayServices({
      nodeName: this.opts.nodeName, nowMs: now, verifyAfterMs: this.opts.verifyAfterMs ?? DEFAULT_VERIFY_AFTER_MS, services,
      interfaceWarnings: (subnet) => {
        const r = facts?.interfaceFor(subnet);
        return r?.ok ? (r.warnings ?? []) : [];
      },
      host: services.length ? this.hostArpFacts(now) : undefined,
    });
    if (this.verifyTimer) clearTimeout(this.verifyTimer);
    this.verifyTimer = undefined;
    if (result.nextCheckAtMs !== undefined) {
      this.verifyTimer = setTimeout(() => this.opts.onChange(), Math.max(0, result.nextCheckAtMs - now) + 50);
      this.verifyTimer.unref();
    }
    return result.byService;
  }

  private hostArpFacts(now: number): HostArpFacts {
    if (!this.hostArp || now - this.hostArp.readAt >= HOST_ARP_REFRESH_MS) {
      this.hostArp = { facts: (this.opts.hostArp ?? readHostArpFacts)(), readAt: now };
    }
    return this.hostArp.facts;
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
