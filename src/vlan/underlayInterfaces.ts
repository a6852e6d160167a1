// Node side of the underlay: keeps an OVSDB monitor on the node's Open_vSwitch database and
// re-runs the announce-interface discovery (resolve.ts, spec §3.3) for every underlay subnet on
// every change of the OVSDB, of the Kubernetes facts (setKubeState) and, on a slow timer, of the
// kernel's interface list (link up/down is not an OVSDB change). Emits one event per subnet whose
// outcome changed, so the speaker can stop announcing and hand over when its interface goes
// (spec §6.3 "Re-resolution").
import { EventEmitter } from 'node:events';
import { OpenVswitchView, OVS_DB, OVS_MONITOR_REQUESTS, OvsdbClient, checkOpenVswitchSchema, type OvsdbMonitor } from '../ovsdb/index.js';
import { readKernelInterfaces } from './kernelInterfaces.js';
import type { VlanFacts } from '../underlay/kubeOvnObjects.js';
import {
  resolveAnnounceInterface, sameResolution,
  type AddressFamily, type AnnounceInterface, type KernelInterface, type NodeLabels, type OvsSnapshot,
  type ResolveFailure, type ResolveProviderNetwork, type ResolveResult, type ResolveSubnet,
} from './resolve.js';

/** Kube-OVN mounts the host's /run/openvswitch at /var/run/openvswitch (spec §3.1). */
export const DEFAULT_OVSDB_ENDPOINT = 'unix:/var/run/openvswitch/db.sock';

/** The Kubernetes side of discovery, as the speaker's informers see it now. */
export interface UnderlayKubeState {
  readonly node: NodeLabels;
  /** All Subnets (src/underlay/kubeOvnObjects.ts facts); only those with spec.vlan set are resolved. */
  readonly subnets: readonly ResolveSubnet[];
  readonly vlans: readonly VlanFacts[];
  readonly providerNetworks: readonly ResolveProviderNetwork[];
  /** Families to announce per subnet (default IPv4). */
  readonly familiesBySubnet?: ReadonlyMap<string, readonly AddressFamily[]>;
}

export type InterfaceChange =
  /** First successful resolution, or a different interface/VLAN than before. */
  | { readonly kind: 'changed'; readonly subnet: string; readonly current: AnnounceInterface; readonly previous: ResolveResult | undefined }
  /** It had an interface and now has none: stop announcing for this subnet and hand over. */
  | { readonly kind: 'gone'; readonly subnet: string; readonly current: ResolveFailure; readonly previous: AnnounceInterface }
  /** Still no interface, but for another reason (for logs / events). */
  | { readonly kind: 'failed'; readonly subnet: string; readonly current: ResolveFailure; readonly previous: ResolveResult | undefined }
  /** The subnet is no longer an underlay subnet (deleted, or spec.vlan cleared). */
  | { readonly kind: 'removed'; readonly subnet: string; readonly previous: ResolveResult };

export interface UnderlayInterfacesOptions {
  /** `unix:/path` or `tcp:host:port` (default DEFAULT_OVSDB_ENDPOINT). */
  readonly endpoint?: string;
  /** Kernel interfaces of the node; default: `ip -j -d address show` here, or in `netns`. */
  readonly kernelInterfaces?: () => Promise<KernelInterface[]>;
  /** Read another namespace's interfaces (lab and tests; the speaker runs in the node's own). */
  readonly netns?: string;
  /** Re-read the kernel interfaces this often (ms; default 5000, 0 = only on OVSDB/Kubernetes changes). */
  readonly kernelPollMs?: number;
  /** Retry delay when the monitor cannot be set up (ms; default 1000). */
  readonly retryMs?: number;
  readonly log?: (line: string) => void;
}

/**
 * Events: 'change' (InterfaceChange), 'error' is never emitted; problems go to `log`.
 * Usage by the speaker:
 *   const u = new UnderlayInterfaces({ endpoint }); u.on('change', onChange); await u.start();
 *   u.setKubeState({...}) on every informer change;  u.interfaceFor('underlay-subnet')
 */
export class UnderlayInterfaces extends EventEmitter {
  readonly endpoint: string;
  private readonly client: OvsdbClient;
  private readonly opts: UnderlayInterfacesOptions;
  private monitor: OvsdbMonitor | undefined;
  private kube: UnderlayKubeState | undefined;
  private kernel: KernelInterface[] = [];
  private results = new Map<string, ResolveResult>();
  private closed = false;
  private pollTimer: NodeJS.Timeout | undefined;
  private pending: Promise<void> = Promise.resolve();
  private dirty = false;

  constructor(opts: UnderlayInterfacesOptions = {}) {
    super();
    this.opts = opts;
    this.endpoint = opts.endpoint ?? DEFAULT_OVSDB_ENDPOINT;
    this.client = new OvsdbClient(this.endpoint, { requestTimeoutMs: 10_000 });
    this.client.on('disconnected', (e: Error) => this.log(`OVSDB ${this.endpoint} disconnected (${e.message}); keeping the last known interfaces until it is back`));
  }

  /** Connects and sets up the monitor (retrying in the background until it works). Resolves after the first attempt. */
  async start(): Promise<void> {
    await this.refreshKernel();
    const first = this.setUpMonitor();
    const poll = this.opts.kernelPollMs ?? 5000;
    if (poll > 0) {
      this.pollTimer = setInterval(() => void this.refreshKernel().then(() => this.schedule()), poll);
      this.pollTimer.unref();
    }
    await first;
  }

  private async setUpMonitor(): Promise<void> {
    while (!this.closed && !this.monitor) {
      try {
        checkOpenVswitchSchema(await this.client.getSchema(OVS_DB));
        const mon = await this.client.monitor(OVS_DB, OVS_MONITOR_REQUESTS);
        this.monitor = mon;
        mon.on('change', () => this.schedule());
        // After a reconnect the replica was rebuilt: interfaces may have come and gone meanwhile.
        mon.on('resynced', () => void this.refreshKernel().then(() => this.schedule()));
        this.schedule();
        await this.pending;
      } catch (e) {
        if (this.closed) return;
        this.log(`OVSDB ${this.endpoint}: cannot monitor Open_vSwitch (${(e as Error).message}); retrying`);
        this.schedule(); // results say OvsdbUnavailable meanwhile
        await new Promise((r) => setTimeout(r, this.opts.retryMs ?? 1000));
      }
    }
  }

  /** Replaces the Kubernetes facts and re-resolves. */
  setKubeState(state: UnderlayKubeState): void {
    this.kube = state;
    this.schedule();
  }

  /** The current outcome for subnet `name` (undefined when it is not an underlay subnet or nothing is known yet). */
  interfaceFor(subnetName: string): ResolveResult | undefined {
    return this.results.get(subnetName);
  }

  /** Every underlay subnet's current outcome. */
  all(): ReadonlyMap<string, ResolveResult> {
    return new Map(this.results);
  }

  /** The OVSDB as discovery reads it now (undefined until the monitor's first dump). */
  snapshot(): OvsSnapshot | undefined {
    if (!this.monitor) return undefined;
    return snapshotOf(new OpenVswitchView(this.monitor.replica));
  }

  /** Re-reads the kernel interfaces and re-resolves now (e.g. after the speaker saw a link event). */
  async refresh(): Promise<void> {
    await this.refreshKernel();
    this.schedule();
    await this.pending;
  }

  /** Settles once every change seen so far has been resolved and its events emitted. */
  async settled(): Promise<void> {
    await this.pending;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.pollTimer) clearInterval(this.pollTimer);
    await this.client.close();
  }

  private async refreshKernel(): Promise<void> {
    try {
      this.kernel = await (this.opts.kernelInterfaces ?? (() => readKernelInterfaces(this.opts.netns)))();
    } catch (e) {
      this.log(`cannot list kernel interfaces: ${(e as Error).message}`);
    }
  }

  /** Coalesces bursts of OVSDB updates into one resolution pass, run on a later tick. */
  private schedule(): void {
    if (this.dirty || this.closed) return;
    this.dirty = true;
    this.pending = this.pending.then(() => new Promise<void>((r) => setImmediate(r))).then(() => {
      this.dirty = false;
      this.resolveAll();
    });
  }

  private resolveAll(): void {
    const kube = this.kube;
    if (!kube) return;
    const ovs = this.snapshot();
    const next = new Map<string, ResolveResult>();
    for (const subnet of kube.subnets) {
      if (!subnet.vlan) continue;
      const vlan = kube.vlans.find((v) => v.name === subnet.vlan);
      const providerNetwork = vlan ? kube.providerNetworks.find((p) => p.name === vlan.provider) : undefined;
      const families = kube.familiesBySubnet?.get(subnet.name);
      next.set(subnet.name, resolveAnnounceInterface({ node: kube.node, subnet, vlan, providerNetwork, ovs, kernel: this.kernel, ...(families ? { families } : {}) }));
    }
    const before = this.results;
    this.results = next;
    for (const [name, current] of next) {
      const previous = before.get(name);
      if (sameResolution(previous, current)) continue;
      if (current.ok) this.emitChange({ kind: 'changed', subnet: name, current, previous });
      else if (previous?.ok) this.emitChange({ kind: 'gone', subnet: name, current, previous });
      else this.emitChange({ kind: 'failed', subnet: name, current, previous });
    }
    for (const [name, previous] of before) if (!next.has(name)) this.emitChange({ kind: 'removed', subnet: name, previous });
  }

  private emitChange(c: InterfaceChange): void {
    const what = c.kind === 'removed' ? 'no longer an underlay subnet' : c.current.ok ? `${c.current.interface} (VLAN ${c.current.vlanId}, ${c.current.how})` : `${c.current.reason}: ${c.current.message}`;
    this.log(`subnet ${c.subnet}: ${c.kind} -> ${what}`);
    try {
      this.emit('change', c);
    } catch (e) {
      this.log(`a 'change' listener threw: ${(e as Error).message}`);
    }
  }

  private log(line: string): void {
    this.opts.log?.(line);
  }
}

/** Copies what discovery reads out of a typed view of the replica. */
export function snapshotOf(view: OpenVswitchView): OvsSnapshot {
  return { externalIds: view.root()?.externalIds ?? new Map(), bridges: view.bridges(), ports: view.ports(), interfaces: view.interfaces() };
}
