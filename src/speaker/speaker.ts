// The speaker process of one node: watches Services, EndpointSlices, Nodes and the config,
// decides (pure, announcements.ts) which IPs this node answers for, and drives the layer-2
// announcer and the ServiceL2Status objects. Level-triggered: every change schedules one
// reconcile of everything. If the API server goes away, the last decision keeps being served.
import type { V1EndpointSlice, V1Node, V1Service } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { parseConfig } from '../config/index.js';
import { formatConfigError, type Config } from '../config/model.js';
import { readAnnotation } from '../controller/annotations.js';
import { isHandledByUs } from '../controller/serviceFacts.js';
import { describeApiError } from '../k8s/apiErrors.js';
import { ConfigSource } from '../k8s/configSource.js';
import { EventRecorder } from '../k8s/events.js';
import { Reflector, objectKey } from '../k8s/reflector.js';
import type { KubeRest } from '../k8s/rest.js';
import { endpointIndex } from './endpoints.js';
import { announcementsFor, type InterfaceChoice, type ServiceDecision, type ServiceSnapshot } from './announcements.js';
import { SpeakerUnderlay } from './underlay.js';
import { isolatedFromPeers } from './partition.js';
import type { EndpointFacts, NodeFacts } from './election.js';
import type { Liveness } from './liveness.js';
import type { SpeakerMetrics } from './metrics.js';
import { SpeakerConfigurationState } from './configurationState.js';
import { BGP_STATUS, L2_STATUS, ServiceStatusWriter, type StatusExtra } from './serviceStatusWriter.js';
import { bgpAnnouncementsFor } from './bgpAnnouncements.js';
import { peerSessionSpecs } from './bgpPeerSpecs.js';
import type { PeerSessionSpec } from './bgp/peerSession.js';
import type { DesiredRib } from './bgp/ribOut.js';

/** What the speaker needs from the layer-2 data path (src/speaker/l2/announcer.ts). */
export interface L2DataPath {
  setAnnouncements(byIp: ReadonlyMap<string, { interfaces: InterfaceChoice }>): void;
  /** Re-read the host's interfaces now (an underlay VLAN port came or went). */
  rescan?(): void;
  /** Open a new gratuitous window for an IP already announced (spec 4.7). */
  reannounce?(ip: string): void;
  close(): void;
}

/** How long a speaker that was cut off waits for its whole view before electing again. */
const REJOIN_SETTLE_MS = 1_500;

/** What the speaker needs of the BGP sessions (src/speaker/bgp/bgpSpeaker.ts). */
export interface BgpControlPath {
  setPeers(specs: readonly PeerSessionSpec[]): void;
  setDesired(peerName: string, rib: DesiredRib): void;
  stop(opts?: { graceful?: boolean }): Promise<void>;
}

export interface SpeakerOptions {
  readonly nodeName: string;
  readonly namespace: string;
  readonly lbClass?: string;
  readonly ignoreExcludeLabel: boolean;
  readonly log: Logger;
  readonly metrics?: SpeakerMetrics;
  /** The node's OVSDB for Kube-OVN underlay interfaces (default unix:/var/run/openvswitch/db.sock). */
  readonly ovsdbEndpoint?: string;
  /** Withdraw every layer-2 announcement while cut off from all other speakers (partition.ts); default on. */
  readonly partitionGuard?: boolean;
  /** KubeOVNNotProgrammed after this long without Kube-OVN's subnet annotation (ms; default 30 s). */
  readonly underlayVerifyAfterMs?: number;
}

/** Rest between passes under a burst of API events: this many times the pass's own time ... */
const BURST_REST_FACTOR = 3;
/** ... and never longer than this (an API change waits at most one pass plus this). */
const MAX_REST_MS = 1_000;

export class Speaker {
  private readonly services: Reflector<V1Service>;
  private readonly slices: Reflector<V1EndpointSlice>;
  private readonly l2Statuses: ServiceStatusWriter;
  private readonly config: ConfigSource;
  private readonly events: EventRecorder;
  private currentConfig: Config | undefined;
  private lastConfigError = '';
  private configDirty = true;
  private scheduled = false;
  private reconciling = false;
  private dirtyDuringPass = false;
  /** A membership change arrived: the next pass must not wait (failover). */
  private urgentPending = false;
  /** Ends the rest between two passes early (set while resting). */
  private endRest: (() => void) | undefined;
  /** Set once the membership view is good enough to act on (see start()). */
  private started = false;
  private running = false;
  /** Per protocol: service -> its announced IPs as text, from the last pass. */
  private readonly announcedServices = new Map<'layer2' | 'bgp', Map<string, string>>();
  private bgpPeersText = '';
  private readonly underlay: SpeakerUnderlay;
  private isolated = false;
  /** After a partition heals: keep quiet until the view is whole again or this time (ms epoch). */
  private rejoinSettleUntil = 0;
  /** Speakers alive in the previous layer-2 pass (to spot one coming back). */
  private previouslyAlive: ReadonlySet<string> = new Set();
  /** Stale-view episodes of the membership already answered with a re-announcement. */
  private refutationsSeen = 0;
  /** Underlay warnings already recorded: "service|reason|message" (one event per distinct problem). */
  private readonly underlayWarned = new Set<string>();
  private readonly bgpStatuses: ServiceStatusWriter | undefined;
  private liveness: Liveness | undefined;
  private readonly configState: SpeakerConfigurationState;
  private readonly log: Logger;

  constructor(api: KubeRest, private readonly dataPath: L2DataPath, private readonly opts: SpeakerOptions, private readonly bgp?: BgpControlPath) {
    this.log = opts.log;
    this.events = new EventRecorder(api, 'metallb-speaker', `ironlb-speaker-${opts.nodeName}`, this.log);
    this.underlay = new SpeakerUnderlay(api, {
      nodeName: opts.nodeName, log: this.log.child({ part: 'underlay' }), ...(opts.ovsdbEndpoint ? { ovsdbEndpoint: opts.ovsdbEndpoint } : {}),
      ...(opts.underlayVerifyAfterMs !== undefined ? { verifyAfterMs: opts.underlayVerifyAfterMs } : {}),
      onChange: (change) => {
        if (change) this.dataPath.rescan?.();
        this.schedule();
      },
    });
    this.services = new Reflector<V1Service>({
      name: 'services', path: '/api/v1/services', api, log: this.log,
    });
    this.slices = new Reflector<V1EndpointSlice>({
      name: 'endpointslices', path: '/apis/discovery.k8s.io/v1/endpointslices', api, log: this.log,
    });
    this.l2Statuses = new ServiceStatusWriter(api, {
      kind: L2_STATUS, namespace: opts.namespace, nodeName: opts.nodeName, log: this.log, onWrite: () => opts.metrics?.updates.inc(),
      goneNodes: () => this.liveness?.gone?.() ?? new Set<string>(),
    });
    if (bgp) {
      this.bgpStatuses = new ServiceStatusWriter(api, {
        kind: BGP_STATUS, namespace: opts.namespace, nodeName: opts.nodeName, log: this.log, onWrite: () => opts.metrics?.updates.inc(),
      });
    }
    this.config = new ConfigSource(api, opts.namespace, this.log, () => {
      this.configDirty = true;
      this.schedule();
    }, { watchNodes: true, onNodeChange: () => {
      this.liveness?.nodesChanged?.();
      this.schedule();
    } });
    this.services.on(() => this.schedule());
    this.slices.on(() => this.schedule());
    this.configState = new SpeakerConfigurationState(api, { namespace: opts.namespace, nodeName: opts.nodeName, log: this.log });
  }

  /** Readiness (/readyz): caches synced and the membership view settled (announcing may begin). */
  isReady(): boolean {
    return this.running && this.started;
  }

  /** Liveness may depend on the config (the memberlist Secret), so it is attached after the caches sync. */
  async start(makeLiveness: (speaker: Speaker) => Promise<Liveness>): Promise<void> {
    this.running = true;
    for (const r of [this.services, this.slices, this.l2Statuses, ...(this.bgpStatuses ? [this.bgpStatuses] : [])]) r.start();
    this.config.start();
    await Promise.all([this.services.synced, this.slices.synced, this.l2Statuses.synced, this.bgpStatuses?.synced, this.config.synced(), this.underlay.start()]);
    this.liveness = await makeLiveness(this);
    // Membership changes are failovers: they cut short the rest between passes (schedule(true)).
    this.liveness.onChange(() => this.schedule(true));
    // Do not announce before knowing who else is alive: a speaker that believes it is alone,
    // or knows only part of the cluster, would claim IPs it does not own (two owners).
    await this.liveness.ready();
    await this.settleMembership();
    this.started = true;
    this.log.info({ alive: [...this.liveness.alive()] }, 'speaker started');
    this.schedule();
  }

  /**
   * After joining, wait until every Node the API server calls Ready is seen alive by the
   * gossip, or 1.5 s at most (a Ready node may really be dead; then the wait is the cost).
   */
  private async settleMembership(): Promise<void> {
    const deadline = Date.now() + 1500;
    while (Date.now() < deadline && this.liveness) {
      const alive = this.liveness.alive();
      const expected = this.nodes().filter((n) => (n.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True')).map((n) => n.metadata?.name ?? '');
      if (expected.every((n) => alive.has(n))) return;
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** SIGTERM: leave the gossip first so the other speakers take over without waiting to detect it. */
  async shutdown(): Promise<void> {
    // BGP: close without a NOTIFICATION, so graceful-restart peers keep our routes while we restart.
    await Promise.all([this.liveness?.leave?.(), this.bgp?.stop({ graceful: true })]);
    this.stop();
  }

  stop(): void {
    this.running = false;
    for (const r of [this.services, this.slices, this.l2Statuses, ...(this.bgpStatuses ? [this.bgpStatuses] : [])]) r.stop();
    void this.bgp?.stop();
    void this.underlay.stop();
    this.config.stop();
    this.configState.stop();
    this.liveness?.stop();
    this.dataPath.close();
  }

  nodes(): V1Node[] {
    return this.config.nodeObjects();
  }

  secretData(name: string): Record<string, string> | undefined {
    return this.config.secret(name)?.data;
  }

  /**
   * One reconcile at a time: events that arrive during a pass (our own status writes among
   * them) only mark the state dirty, and one more pass runs after the current one. `urgent`
   * (a membership change: someone died or came back) also ends the rest between passes.
   */
  private schedule(urgent = false): void {
    if (!this.running || !this.started) return;
    if (urgent) {
      this.urgentPending = true;
      this.endRest?.();
    }
    if (this.reconciling) {
      this.dirtyDuringPass = true;
      return;
    }
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => void this.runPasses());
  }

  private async runPasses(): Promise<void> {
    this.scheduled = false;
    this.reconciling = true;
    try {
      do {
        this.dirtyDuringPass = false;
        this.urgentPending = false;
        const started = performance.now();
        try {
          await this.reconcile();
        } catch (e) {
          this.log.warn({ err: describeApiError(e) }, 'reconcile failed; retrying');
          setTimeout(() => this.schedule(), 1000);
        }
        // A pass costs O(Services). Under a burst of API events (Services created by the thousand,
        // each bringing its status, EndpointSlice and our own status objects) rest BURST_REST_FACTOR
        // times as long as the pass took, at most MAX_REST_MS, so passes batch many changes and a
        // speaker uses at most a quarter of a core on them (three speakers at half a core each
        // starved the API server on 2 cores). A membership change ends the rest at once.
        if (this.dirtyDuringPass && !this.urgentPending) await this.rest(Math.min((performance.now() - started) * BURST_REST_FACTOR, MAX_REST_MS));
      } while (this.dirtyDuringPass && this.running);
    } finally {
      this.reconciling = false;
    }
  }

  /** Waits `ms`, or until endRest() (an urgent schedule) ends it earlier. */
  private rest(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.endRest = () => {
        clearTimeout(timer);
        resolve();
      };
    }).finally(() => {
      this.endRest = undefined;
    });
  }

  private reloadConfig(): void {
    this.configDirty = false;
    const snap = this.config.snapshot();
    const outcome = snap.legacyErrors.length ? { ok: false as const, errors: snap.legacyErrors } : parseConfig(snap.resources);
    if (!outcome.ok) {
      const text = outcome.errors.map(formatConfigError).join('; ');
      if (text !== this.lastConfigError) this.log.error({ errors: outcome.errors.map(formatConfigError) }, 'configuration rejected; keeping the last valid configuration');
      this.lastConfigError = text;
      this.opts.metrics?.configStale.set(1);
      this.configState.report({ valid: false, errorSummary: text });
      return;
    }
    this.lastConfigError = '';
    this.configState.report({ valid: true, errorSummary: '' });
    this.currentConfig = outcome.config;
    this.opts.metrics?.configLoaded.set(1);
    this.opts.metrics?.configStale.set(0);
  }

  private async reconcile(): Promise<void> {
    const passStartedAt = performance.now();
    if (this.configDirty) this.reloadConfig();
    const config = this.currentConfig;
    if (!config || !this.liveness) return;
    const nodes = this.nodes().map(nodeFacts);
    const endpointsByService = endpointIndex(this.slices.list());
    const services = this.services.list().filter((s) => s.spec?.type === 'LoadBalancer' && isHandledByUs(s, this.opts.lbClass)).map((s) => this.serviceSnapshot(s, endpointsByService));
    // BGP does not use the membership (MetalLB 4.9): it goes on while the view is stale.
    if (this.bgp) this.reconcileBgp(config, services, nodes, this.bgp);
    // A stale view (we just stalled or joined) must not move IPs: keep what we announce until
    // the membership has re-synced; its change event brings us back here.
    if (this.liveness.stale?.()) return;
    if (this.cutOffFromPeers()) {
      // The other side of the split takes our IPs; answering too would give them two owners.
      this.dataPath.setAnnouncements(new Map());
      this.noteAnnounced('layer2', new Map(), () => 'isolatedFromPeers');
      this.l2Statuses.setDesired(new Map());
      return;
    }
    const underlay = this.underlay.facts(nodes.find((n) => n.name === this.opts.nodeName));
    const result = announcementsFor(this.opts.nodeName, {
      config, services, nodes, aliveNodes: this.liveness.alive(), ignoreExcludeLabel: this.opts.ignoreExcludeLabel, ...(underlay ? { underlay } : {}),
    });
    this.noteUnderlayProblems(result.decisions);
    this.opts.metrics?.noteLayer2Owners(this.opts.nodeName, layer2Owners(this.opts.nodeName, services, result.decisions), this.liveness.alive(), passStartedAt);
    this.dataPath.setAnnouncements(new Map([...result.byIp].map(([ip, interfaces]) => [ip, { interfaces }])));
    // A speaker that comes (back) into our view may have claimed our IPs while it could not hear
    // us (a partition healing, a restart with a partial view) and turned clients to its MAC: say
    // again that they are ours, as MetalLB does on every pass.
    // Likewise when the others suspected or declared us dead (we stalled: SIGSTOP, a long GC, CPU
    // starvation; or our packets were lost) and we refuted: they may have taken our IPs meanwhile
    // and given them back only because we refuted; nothing in our own announcements changed, so
    // without this no gratuitous ARP would turn clients back to us. A stall too short for anyone
    // to notice (below the probe timeout) needs no re-announcement.
    const alive = this.liveness.alive();
    const someoneCameBack = this.previouslyAlive.size > 0 && [...alive].some((n) => n !== this.opts.nodeName && !this.previouslyAlive.has(n));
    const refutations = this.liveness.refutations?.() ?? 0;
    if (someoneCameBack || refutations !== this.refutationsSeen) {
      for (const ip of result.byIp.keys()) this.dataPath.reannounce?.(ip);
    }
    this.refutationsSeen = refutations;
    this.previouslyAlive = new Set(alive);

    const nowAnnounced = new Map<string, { ips: readonly string[]; interfaces: InterfaceChoice }>();
    for (const d of result.decisions) if (d.announce) nowAnnounced.set(d.service, d.announce);
    this.noteAnnounced('layer2', nowAnnounced, reasonLookup(result.decisions));
    const desiredStatus = new Map<string, StatusExtra>();
    for (const [key, a] of nowAnnounced) desiredStatus.set(key, a.interfaces === 'all' ? {} : { interfaces: a.interfaces.map((name) => ({ name })) });
    this.l2Statuses.setDesired(desiredStatus);
  }

  /** Sessions for the peers selected for this node, each with its merged routes, and one ServiceBGPStatus per advertised Service. */
  private reconcileBgp(config: Config, services: readonly ServiceSnapshot[], nodes: readonly NodeFacts[], bgp: BgpControlPath): void {
    const result = bgpAnnouncementsFor(this.opts.nodeName, { config, services, nodes, ignoreExcludeLabel: this.opts.ignoreExcludeLabel });
    const { specs, skipped } = peerSessionSpecs(result.peers, config);
    const specsText = JSON.stringify(specs);
    if (specsText !== this.bgpPeersText) {
      try {
        bgp.setPeers(specs);
        this.bgpPeersText = specsText;
        for (const s of skipped) this.log.warn({ peer: s.peer, reason: s.reason }, 'BGPPeer selected for this node gets no session');
        this.log.info({ peers: specs.map((p) => `${p.name} (${p.peerAddress}:${p.peerPort})`) }, 'BGP sessions configured');
      } catch (e) {
        // Invalid session settings: keep the sessions we have (the last good configuration).
        this.log.error({ err: (e as Error).message }, 'BGP peers rejected; keeping the current sessions');
      }
    }
    for (const p of specs) bgp.setDesired(p.name, result.ribByPeer.get(p.name) ?? new Map());
    const nowAdvertised = new Map<string, { ips: readonly string[] }>();
    const desiredStatus = new Map<string, StatusExtra>();
    const ipsOf = new Map(services.map((s) => [s.key, s.ingressIps]));
    for (const d of result.decisions) {
      if (!d.advertise || d.advertise.peers.length === 0) continue;
      nowAdvertised.set(d.service, { ips: ipsOf.get(d.service) ?? [] });
      desiredStatus.set(d.service, { peers: [...d.advertise.peers] });
    }
    this.noteAnnounced('bgp', nowAdvertised, reasonLookup(result.decisions));
    this.bgpStatuses?.setDesired(desiredStatus);
  }

  /** The partition guard (partition.ts), logged when it turns on and off. */
  private cutOffFromPeers(): boolean {
    const states = this.opts.partitionGuard === false ? undefined : this.liveness?.memberStates?.();
    if (!states) return false;
    const readyNodes = new Set(this.nodes().filter((n) => (n.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True')).map((n) => n.metadata?.name ?? ''));
    const isolated = isolatedFromPeers({ self: this.opts.nodeName, peers: states, readyNodes });
    if (isolated !== this.isolated) {
      this.isolated = isolated;
      if (isolated) {
        this.log.warn({ peers: Object.fromEntries(states) }, 'no other speaker is heard while the API server says they are Ready: this node is cut off (gossip partition); withdrawing every layer-2 announcement until it hears them again');
      } else {
        // Heard again, but the first peer back is not the whole view: electing now could claim
        // (and send gratuitous ARP for) an IP whose owner is simply not heard yet. Wait until
        // every Ready peer it knows is alive again, or REJOIN_SETTLE_MS.
        this.rejoinSettleUntil = Date.now() + REJOIN_SETTLE_MS;
        setTimeout(() => this.schedule(), REJOIN_SETTLE_MS + 10).unref();
        this.log.info('other speakers heard again: announcing as elected once the view has settled');
      }
    }
    if (isolated) return true;
    if (this.rejoinSettleUntil > Date.now()) {
      const missing = [...states].some(([name, state]) => name !== this.opts.nodeName && state !== 'alive' && state !== 'left' && readyNodes.has(name));
      if (missing) return true;
      this.rejoinSettleUntil = 0;
    }
    return false;
  }

  /** Warning events of the underlay election and verification on the Services this node won (spec 6.3), once per distinct problem. */
  private noteUnderlayProblems(decisions: readonly ServiceDecision[]): void {
    const verification = this.underlay.verify(decisions.flatMap((d) => (d.underlay && d.announce
      ? [{ service: d.service, ips: d.announce.ips, subnet: d.underlay.subnet, annotations: this.services.get(d.service)?.metadata?.annotations ?? {} }]
      : [])));
    for (const d of decisions) {
      if (!d.underlay || d.announcer !== this.opts.nodeName) continue;
      const warnings: { reason: string; message: string }[] = [];
      if (d.underlay.clusterTreatedAsLocal) {
        warnings.push({ reason: 'ClusterPolicyTreatedAsLocal', message: `external IP in Kube-OVN underlay subnet "${d.underlay.subnet}": announced only from nodes with a ready local pod, as if externalTrafficPolicy were Local (Kube-OVN forwards the VIP only on the pod's node); set externalTrafficPolicy: Local to silence this` });
      }
      if (d.underlay.interfaceProblem?.reason === 'Resolving') {
        this.log.debug({ service: d.service, message: d.underlay.interfaceProblem.message }, 'elected for an underlay IP; its interface is still being resolved');
      } else if (d.underlay.interfaceProblem) {
        const p = d.underlay.interfaceProblem;
        warnings.push({ reason: 'announceFailed', message: `${p.reason}: ${p.message}` });
        this.log.warn({ service: d.service, reason: p.reason, message: p.message }, 'elected for an underlay IP but no interface to answer on');
      }
      warnings.push(...(verification.get(d.service) ?? []));
      for (const w of warnings) {
        const key = `${d.service}|${w.reason}|${w.message}`;
        if (this.underlayWarned.has(key)) continue;
        this.underlayWarned.add(key);
        const [namespace, name] = d.service.split('/') as [string, string];
        this.events.record({ apiVersion: 'v1', kind: 'Service', namespace, name, uid: this.services.get(d.service)?.metadata?.uid }, { type: 'Warning', ...w });
      }
    }
  }

  /** Events, logs and the announced gauge for what changed in one protocol since the last pass. */
  private noteAnnounced(protocol: 'layer2' | 'bgp', now: ReadonlyMap<string, { ips: readonly string[] }>, reasonOf: (service: string) => string | undefined): void {
    const before = this.announcedServices.get(protocol) ?? new Map<string, string>();
    for (const [key, a] of now) {
      if (before.get(key) === a.ips.join(',')) continue;
      const [namespace, name] = key.split('/') as [string, string];
      this.events.record({ apiVersion: 'v1', kind: 'Service', namespace, name, uid: this.services.get(key)?.metadata?.uid },
        { type: 'Normal', reason: 'nodeAssigned', message: `announcing from node "${this.opts.nodeName}" with protocol "${protocol}"` });
      this.log.info({ service: key, ips: a.ips, protocol }, 'announcing');
    }
    for (const key of before.keys()) {
      if (!now.has(key)) this.log.info({ service: key, protocol, reason: reasonOf(key) ?? 'serviceDeleted' }, 'withdrawing');
    }
    this.announcedServices.set(protocol, new Map([...now].map(([key, a]) => [key, a.ips.join(',')])));
    this.opts.metrics?.setAnnounced(this.opts.nodeName, protocol, [...now].map(([service, a]) => ({ service, ips: a.ips })));
  }

  private serviceSnapshot(svc: V1Service, endpointsByService: ReadonlyMap<string, EndpointFacts[]>): ServiceSnapshot {
    const key = objectKey(svc);
    const namespace = svc.metadata?.namespace ?? '';
    const name = svc.metadata?.name ?? '';
    const endpoints = endpointsByService.get(key) ?? [];
    return {
      key, namespace, name,
      labels: svc.metadata?.labels ?? {},
      ingressIps: (svc.status?.loadBalancer?.ingress ?? []).map((i) => i.ip ?? '').filter((ip) => ip !== ''),
      externalTrafficPolicyLocal: svc.spec?.externalTrafficPolicy === 'Local',
      sharesIp: readAnnotation(svc.metadata?.annotations ?? {}, 'allowSharedIp').value !== undefined,
      endpoints,
    };
  }
}

/** IP -> the node answering for it on layer 2 (this node only when it really announces), for the takeover metrics. */
function layer2Owners(self: string, services: readonly ServiceSnapshot[], decisions: readonly ServiceDecision[]): Map<string, string | undefined> {
  const ipsOf = new Map(services.map((s) => [s.key, s.ingressIps]));
  const owners = new Map<string, string | undefined>();
  for (const d of decisions) {
    const owner = d.announce ? self : d.announcer === self ? undefined : d.announcer;
    // A shared IP: any Service announcing it from here makes it ours.
    for (const ip of ipsOf.get(d.service) ?? []) if (owners.get(ip) !== self) owners.set(ip, owner);
  }
  return owners;
}

export function nodeFacts(n: V1Node): NodeFacts {
  return {
    name: n.metadata?.name ?? '',
    labels: n.metadata?.labels ?? {},
    networkUnavailable: (n.status?.conditions ?? []).some((c) => c.type === 'NetworkUnavailable' && c.status === 'True'),
  };
}

/** Why a Service is not announced, looked up by key (a Map built on first use: a mass withdrawal asks for thousands). */
function reasonLookup(decisions: readonly { service: string; reason?: string }[]): (service: string) => string | undefined {
  let byService: Map<string, string | undefined> | undefined;
  return (service) => (byService ??= new Map(decisions.map((d) => [d.service, d.reason]))).get(service);
}
