// The controller process: the I/O shell around the allocator and convergeService.
// Level-triggered and serialized: every change marks work dirty and one loop converges it.
// Order on start (MetalLB 3.6): config first, then one full pass over all Services, assigned
// ones first, before any single-Service event is acted on, so a restart changes no IP.
import { CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig, type V1Namespace, type V1Service } from '@kubernetes/client-node';
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { Allocator } from '../allocator/allocator.js';
import { parseConfig, type ConfigResources } from '../config/index.js';
import { formatConfigError, type Config, type ConfigError } from '../config/model.js';
import { apiStatusCode, describeApiError } from '../k8s/apiErrors.js';
import { CONFIG_KINDS, ConfigSource, METALLB_GROUP } from '../k8s/configSource.js';
import { EventRecorder, type EventTarget } from '../k8s/events.js';
import { Reflector, objectKey } from '../k8s/reflector.js';
import type { KubeRest } from '../k8s/rest.js';
import { ANNOTATION_ALLOCATED_FROM_POOL, LEGACY_ANNOTATION_ALLOCATED_FROM_POOL } from './annotations.js';
import { convergeService, reprocessOrder, serviceDeleted, serviceNeedsWrite, type ConvergeOutcome } from './converge.js';
import { isHandledByUs } from './serviceFacts.js';
import { ControllerMetrics } from './metrics.js';
import { OrderedWriter } from '../k8s/orderedWriter.js';
import { KubeOvnSource } from '../k8s/kubeOvnSource.js';
import { checkServiceDualStack, type PoolUnderlayReport, type UnderlayInventory } from '../underlay/rules.js';
import { WriteMarks } from './writeMarks.js';
import {
  blockedFingerprint, blockedForAllocator, newFindings, underlayCondition, underlayInventory, underlayReports, type UnderlayCondition,
} from './underlayChecks.js';

export interface ControllerOptions {
  readonly namespace: string;
  readonly lbClass?: string;
  readonly log: Logger;
  readonly metrics?: ControllerMetrics;
  /** Secret holding the speakers' gossip key ("" = do not create one). */
  readonly memberlistSecretName?: string;
}

const MAX_FULL_PASSES = 5;
const WRITE_CONCURRENCY = 16;
const POOL_STATUS_INTERVAL_MS = 300;

export class Controller {
  private readonly core: CoreV1Api;
  private readonly custom: CustomObjectsApi;
  private readonly services: Reflector<V1Service>;
  private readonly namespaces: Reflector<V1Namespace>;
  private readonly config: ConfigSource;
  /** Kube-OVN objects for the underlay checks; absent CRDs = checks off (spec kube-ovn-underlay.md 6). */
  private readonly kubeOvn: KubeOvnSource;
  private underlayDirty = true;
  private underlayInv: UnderlayInventory | undefined;
  private underlay: Map<string, PoolUnderlayReport> | undefined;
  /** Last UnderlayValid condition written per pool, with its transition time. */
  private readonly underlayConditions = new Map<string, UnderlayCondition & { lastTransitionTime: string }>();
  private readonly events: EventRecorder;
  readonly allocator = new Allocator();
  private currentConfig: Config | undefined;
  private lastConfigErrors = '';
  private configDirty = true;
  private fullPassPending = true;
  private initialPassDone = false;
  private readonly dirtyServices = new Set<string>();
  private readonly deletedServices = new Set<string>();
  private poolStatusTimer: NodeJS.Timeout | undefined;
  private readonly writer = new OrderedWriter(WRITE_CONCURRENCY);
  private readonly writeMarks = new WriteMarks();
  private wake: (() => void) | undefined;
  private running = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly log: Logger;

  /** kc for the typed writes (Services, pool status), rest for the watches and Events (src/k8s/rest.ts). */
  constructor(kc: KubeConfig, rest: KubeRest, private readonly opts: ControllerOptions) {
    this.log = opts.log;
    this.core = kc.makeApiClient(CoreV1Api);
    this.custom = kc.makeApiClient(CustomObjectsApi);
    this.events = new EventRecorder(rest, 'metallb-controller', 'ironlb-controller', this.log);
    this.services = new Reflector<V1Service>({
      name: 'services', path: '/api/v1/services', api: rest, log: this.log,
    });
    this.namespaces = new Reflector<V1Namespace>({
      name: 'namespaces', path: '/api/v1/namespaces', api: rest, log: this.log,
    });
    this.config = new ConfigSource(rest, opts.namespace, this.log, () => this.markConfigDirty(), { watchNodes: true });
    this.kubeOvn = new KubeOvnSource(rest, this.log, () => {
      this.underlayDirty = true;
      this.kick();
    });
    this.services.on((ev, svc) => {
      const key = objectKey(svc);
      if (ev === 'delete') this.deletedServices.add(key);
      else this.dirtyServices.add(key);
      const lb = ev !== 'delete' && svc.spec?.type === 'LoadBalancer';
      opts.metrics?.serviceSeen(key, !lb ? 'other' : svc.status?.loadBalancer?.ingress?.length ? 'hasIp' : 'needsIp');
      this.kick();
    });
    this.namespaces.on((ev, ns, old) => {
      // Namespace labels feed serviceAllocation.namespaceSelectors: re-evaluate everything.
      if (ev === 'update' && JSON.stringify(ns.metadata?.labels ?? {}) === JSON.stringify(old?.metadata?.labels ?? {})) return;
      this.fullPassPending = true;
      this.kick();
    });
  }

  async start(): Promise<void> {
    await this.startCaches();
    await this.startReconciling();
  }

  /**
   * Watches only: nothing is written. A standby replica (leader election) stays here, caches
   * warm, and the webhook reads configResources() from them.
   */
  async startCaches(): Promise<void> {
    this.services.start();
    this.namespaces.start();
    this.config.start();
    // Kube-OVN objects are synced before the first pass so that no forbidden address goes out.
    await Promise.all([this.services.synced, this.namespaces.synced, this.config.synced(), this.kubeOvn.start()]);
    this.log.info({ services: this.services.list().length }, 'caches synced');
  }

  /**
   * Starts writing (only the leader does). The first pass is a restart's: the allocator is
   * rebuilt from the Services' current status, assigned ones first, so taking over writes
   * nothing when nothing changed.
   */
  async startReconciling(): Promise<void> {
    this.running = true;
    await this.ensureMemberlistSecret();
    void this.loop();
  }

  /** The configuration objects as the caches hold them now (the webhook validates against them). */
  configResources(): ConfigResources {
    return this.config.snapshot().resources;
  }

  /**
   * The speakers authenticate their gossip with a key from this Secret; like MetalLB's
   * controller we create it once (random key) if it is not there. Never overwritten.
   */
  private async ensureMemberlistSecret(): Promise<void> {
    const name = this.opts.memberlistSecretName ?? 'memberlist';
    if (!name) return;
    try {
      await this.core.createNamespacedSecret({ namespace: this.opts.namespace, body: {
        metadata: { name, namespace: this.opts.namespace, labels: { 'app.kubernetes.io/part-of': 'ironlb' } },
        type: 'Opaque',
        data: { secretkey: Buffer.from(randomBytes(32).toString('base64')).toString('base64') },
      } });
      this.log.info({ secret: `${this.opts.namespace}/${name}` }, 'created the memberlist key Secret');
    } catch (e) {
      if (apiStatusCode(e) !== 409) this.log.warn({ err: describeApiError(e) }, `could not create Secret ${name}; speakers fall back to node readiness`);
    }
  }

  stop(): void {
    this.running = false;
    this.services.stop();
    this.namespaces.stop();
    this.config.stop();
    this.kubeOvn.stop();
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.poolStatusTimer) clearTimeout(this.poolStatusTimer);
    this.kick();
  }

  /** Resolves when nothing is pending (tests and the bench use it). */
  get idle(): boolean {
    return !this.configDirty && !this.underlayDirty && !this.fullPassPending && this.dirtyServices.size === 0 && this.deletedServices.size === 0;
  }

  private markConfigDirty(): void {
    this.configDirty = true;
    this.kick();
  }

  private kick(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  private async loop(): Promise<void> {
    while (this.running) {
      try {
        await this.runOnce();
      } catch (e) {
        this.log.error({ err: e }, 'reconcile pass failed; retrying');
        this.retryTimer = setTimeout(() => this.kick(), 1000);
      }
      if (!this.running) break;
      if (this.idle) await new Promise<void>((r) => (this.wake = r));
    }
  }

  private async runOnce(): Promise<void> {
    if (this.configDirty) {
      this.configDirty = false;
      await this.reloadConfig();
    }
    // Nothing is allocated before the first valid configuration (MetalLB: initialLoadPerformed).
    if (!this.currentConfig) {
      this.dirtyServices.clear();
      this.deletedServices.clear();
      return;
    }
    // Before any Service: U4 must see the latest Kube-OVN allocations (re-check per assignment).
    if (this.underlayDirty) {
      this.underlayDirty = false;
      this.evaluateUnderlay(this.currentConfig);
    }
    for (const key of [...this.deletedServices]) {
      this.deletedServices.delete(key);
      this.dirtyServices.delete(key);
      if (this.services.get(key)) continue; // re-created meanwhile
      this.writeMarks.forget(key);
      if (serviceDeleted(key, this.allocator).reprocessAll) this.fullPassPending = true;
      this.schedulePoolStatus();
    }
    if (this.fullPassPending || !this.initialPassDone) {
      await this.fullPass();
    } else {
      const keys = [...this.dirtyServices];
      this.dirtyServices.clear();
      for (const key of keys) {
        const svc = this.services.get(key);
        if (svc && (await this.converge(svc))) this.fullPassPending = true;
      }
    }
  }

  private async fullPass(): Promise<void> {
    for (let pass = 0; pass < MAX_FULL_PASSES; pass++) {
      this.fullPassPending = false;
      this.dirtyServices.clear();
      let again = false;
      const services = reprocessOrder(this.services.list());
      for (const svc of services) {
        if (await this.converge(svc)) again = true;
      }
      if (!this.initialPassDone) this.log.info({ services: services.length }, 'initial full pass done');
      this.initialPassDone = true;
      if (!again) return;
    }
    this.fullPassPending = false;
  }

  /** Converges one Service; returns true when all Services must be reprocessed. */
  private async converge(svc: V1Service): Promise<boolean> {
    if (!isHandledByUs(svc, this.opts.lbClass)) return false;
    const nsLabels = this.namespaces.get(svc.metadata?.namespace ?? '')?.metadata?.labels ?? {};
    const outcome = convergeService(svc, { allocator: this.allocator, poolsConfigured: (this.currentConfig?.pools.size ?? 0) > 0, namespaceLabels: nsLabels });
    const target: EventTarget = { apiVersion: 'v1', kind: 'Service', namespace: svc.metadata?.namespace ?? '', name: svc.metadata?.name ?? '', uid: svc.metadata?.uid };
    for (const ev of outcome.events) this.events.record(target, ev);
    if (this.underlayInv && outcome.ingressIps.length === 2) {
      // U5: both families of one Service must come from one (dual-stack) subnet.
      const u5 = checkServiceDualStack(objectKey(svc), outcome.ingressIps, this.underlayInv);
      if (u5) this.events.record(target, { type: 'Warning', reason: u5.reason, message: u5.message });
    }
    if (outcome.failure) this.log.debug({ service: objectKey(svc), reason: outcome.failure }, 'service has no IP');
    const needs = serviceNeedsWrite(svc, outcome);
    const key = objectKey(svc);
    if (needs.status || needs.annotations) {
      const uid = svc.metadata?.uid ?? '';
      const target = JSON.stringify([outcome.ingressIps, outcome.allocatedFromPool ?? null]);
      if (this.writeMarks.redundant(key, uid, target, svc.metadata?.resourceVersion)) return outcome.reprocessAll;
      const held = (svc.status?.loadBalancer?.ingress ?? []).map((i) => i.ip);
      const releasesIp = held.some((ip) => ip && !outcome.ingressIps.includes(ip));
      this.writeMarks.begin(key, uid, target);
      void this.writer.submit(key, async () => {
        const result = await this.write(svc, outcome, needs);
        this.writeMarks.end(key, target, result.ok, result.resourceVersions);
        if (result.wrote) this.schedulePoolStatus();
      }, releasesIp);
    } else {
      this.writeMarks.forget(key);
    }
    return outcome.reprocessAll;
  }

  private schedulePoolStatus(): void {
    if (this.poolStatusTimer) return;
    // Coalesce: one status write per pool per interval, however many Services changed.
    this.poolStatusTimer = setTimeout(() => {
      this.poolStatusTimer = undefined;
      void this.writePoolStatus();
    }, POOL_STATUS_INTERVAL_MS);
  }

  /** Patches what `needs` says; `ok` when every patch succeeded, with the resource versions they returned. */
  private async write(svc: V1Service, outcome: ConvergeOutcome, needs: { status: boolean; annotations: boolean }): Promise<{ wrote: boolean; ok: boolean; resourceVersions: (string | undefined)[] }> {
    const namespace = svc.metadata?.namespace ?? '';
    const name = svc.metadata?.name ?? '';
    const ingress = outcome.ingressIps.length ? outcome.ingressIps.map((ip) => ({ ip })) : null;
    // The status and the pool annotation are independent merge patches, sent together: the IP is
    // visible after one API round trip, and a write slot is held for one round trip, not two.
    const writes: Promise<V1Service>[] = [];
    if (needs.annotations) {
      // Only the current key is written; the legacy spelling of our own annotation goes away.
      const annotations = { [ANNOTATION_ALLOCATED_FROM_POOL]: outcome.allocatedFromPool ?? null, [LEGACY_ANNOTATION_ALLOCATED_FROM_POOL]: null };
      writes.push(this.core.patchNamespacedService(
        { name, namespace, body: { metadata: { annotations } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      ));
    }
    if (needs.status) {
      writes.push(this.core.patchNamespacedServiceStatus(
        { name, namespace, body: { status: { loadBalancer: { ingress } } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      ).then((written) => {
        if (ingress) this.opts.metrics?.ingressWritten(`${namespace}/${name}`);
        return written;
      }));
    }
    const results = await Promise.allSettled(writes);
    const resourceVersions = results.map((r) => (r.status === 'fulfilled' ? r.value.metadata?.resourceVersion : undefined));
    const wrote = results.some((r) => r.status === 'fulfilled');
    const rejected = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
    // 404: deleted meanwhile; the delete event follows.
    const failed = rejected.filter((e) => apiStatusCode(e) !== 404);
    if (failed.length) {
      this.log.warn({ service: `${namespace}/${name}`, err: describeApiError(failed[0]) }, 'writing service failed; will retry');
      this.opts.metrics?.updateErrors.inc();
      this.dirtyServices.add(`${namespace}/${name}`);
      this.retryTimer = setTimeout(() => this.kick(), 1000);
    } else if (wrote) {
      this.opts.metrics?.updates.inc();
    }
    return { wrote, ok: rejected.length === 0, resourceVersions };
  }

  private async reloadConfig(): Promise<void> {
    const snap = this.config.snapshot();
    const outcome = snap.legacyErrors.length ? { ok: false as const, errors: snap.legacyErrors, warnings: [] } : parseConfig(snap.resources);
    const errors: ConfigError[] = outcome.ok ? [] : outcome.errors;
    for (const w of outcome.warnings) this.log.warn({ object: `${w.kind}/${w.name}`, field: w.field }, formatConfigError(w));
    const summary = errors.map(formatConfigError).join('; ');
    if (!outcome.ok) {
      // Keep serving the last good config; tell the user exactly what is wrong and where.
      if (summary !== this.lastConfigErrors) {
        this.log.error({ errors: errors.map(formatConfigError) }, 'configuration rejected; keeping the last valid configuration');
        for (const e of errors) this.events.record(this.configTarget(e.kind, e.name), { type: 'Warning', reason: 'InvalidConfiguration', message: `${e.field}: ${e.message}` });
      }
      this.lastConfigErrors = summary;
      this.opts.metrics?.configStale.set(1);
      await this.writeConfigurationState(false, summary);
      return;
    }
    if (this.lastConfigErrors) this.log.info('configuration valid again');
    this.lastConfigErrors = '';
    this.currentConfig = outcome.config;
    this.opts.metrics?.configLoaded.set(1);
    this.opts.metrics?.configStale.set(0);
    const { dropped } = this.allocator.setPools(outcome.config.pools);
    if (dropped.length) this.log.info({ services: dropped }, 'allocations no longer allowed by the configuration');
    this.opts.metrics?.setPools(outcome.config.pools.keys());
    this.fullPassPending = true;
    this.underlayDirty = true; // new pools, or node labels (provider readiness, U7)
    this.schedulePoolStatus();
    await this.writeConfigurationState(true, '');
  }

  /**
   * Runs U1-U7 for every pool: blocked addresses go to the allocator (a change re-converges
   * every Service), new findings become Warning Events on the pool, and the pool status gets
   * UnderlayValid. Without Kube-OVN this clears everything it set.
   */
  private evaluateUnderlay(cfg: Config): void {
    const before = blockedFingerprint(this.underlay);
    const previous = this.underlay;
    if (!this.kubeOvn.present) {
      this.underlayInv = undefined;
      this.underlay = undefined;
    } else {
      this.underlayInv = underlayInventory({
        subnets: this.kubeOvn.list('subnets'),
        vlans: this.kubeOvn.list('vlans'),
        providerNetworks: this.kubeOvn.list('provider-networks'),
        ips: this.kubeOvn.list('ips'),
        nodeLabels: this.config.nodeObjects().map((n) => n.metadata?.labels ?? {}),
        controllerDeployment: this.kubeOvn.controllerDeployment(),
      });
      this.underlay = underlayReports(cfg.pools, this.underlayInv);
    }
    for (const name of new Set([...(previous?.keys() ?? []), ...cfg.pools.keys()])) {
      const report = this.underlay?.get(name);
      this.allocator.setBlockedAddresses(name, report ? blockedForAllocator(report) : []);
      if (!report) continue;
      const target: EventTarget = { apiVersion: `${METALLB_GROUP}/v1beta1`, kind: 'IPAddressPool', namespace: this.opts.namespace, name };
      for (const f of newFindings(previous?.get(name), report)) this.events.record(target, { type: 'Warning', reason: f.reason, message: f.message });
    }
    if (blockedFingerprint(this.underlay) !== before) this.fullPassPending = true;
    this.schedulePoolStatus();
  }

  /** The UnderlayValid condition to write for a pool; null removes conditions (checks off). */
  private poolConditions(name: string): unknown[] | null {
    const report = this.underlay?.get(name);
    if (!report) {
      this.underlayConditions.delete(name);
      return null;
    }
    const next = underlayCondition(report);
    const last = this.underlayConditions.get(name);
    const lastTransitionTime = last && last.status === next.status ? last.lastTransitionTime : new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const condition = { ...next, lastTransitionTime };
    this.underlayConditions.set(name, condition);
    return [condition];
  }

  private configTarget(kind: string, name: string): EventTarget {
    const known = CONFIG_KINDS.find((k) => k.kind === kind);
    if (known) return { apiVersion: `${METALLB_GROUP}/${known.version}`, kind, namespace: this.opts.namespace, name };
    return { apiVersion: 'v1', kind: 'ConfigMap', namespace: this.opts.namespace, name: 'config' };
  }

  private async writeConfigurationState(valid: boolean, errorSummary: string): Promise<void> {
    const group = METALLB_GROUP, version = 'v1beta1', namespace = this.opts.namespace, plural = 'configurationstates', name = 'controller';
    const status = {
      result: valid ? 'Valid' : 'Invalid',
      errorSummary,
      conditions: [{
        type: 'poolReconcilerValid', status: valid ? 'True' : 'False', reason: valid ? 'Reconciled' : 'ConfigurationError',
        message: valid ? '' : errorSummary.slice(0, 32_000), lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      }],
    };
    try {
      try {
        await this.custom.getNamespacedCustomObject({ group, version, namespace, plural, name });
      } catch (e) {
        if (apiStatusCode(e) !== 404) throw e;
        await this.custom.createNamespacedCustomObject({ group, version, namespace, plural, body: {
          apiVersion: `${group}/${version}`, kind: 'ConfigurationState',
          metadata: { name, namespace, labels: { 'metallb.io/component-type': 'controller' } },
        } });
      }
      await this.custom.patchNamespacedCustomObjectStatus({ group, version, namespace, plural, name, body: { status } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
    } catch (e) {
      this.log.warn({ err: describeApiError(e) }, 'could not write ConfigurationState');
    }
  }

  private async writePoolStatus(): Promise<void> {
    const cfg = this.currentConfig;
    if (!cfg) return;
    for (const name of cfg.pools.keys()) {
      const c = this.allocator.poolCounters(name);
      this.opts.metrics?.setPoolCounters(name, c);
      // int64 in the CRD; JSON numbers above 2^53 lose precision, so huge IPv6 pools are capped.
      const n = (v: bigint) => Number(v > BigInt(Number.MAX_SAFE_INTEGER) ? BigInt(Number.MAX_SAFE_INTEGER) : v);
      const status = {
        assignedIPv4: n(c.assignedIPv4), assignedIPv6: n(c.assignedIPv6), availableIPv4: n(c.availableIPv4), availableIPv6: n(c.availableIPv6),
        // Only a cluster with Kube-OVN gets the condition; without it the status is as before.
        ...(this.underlay || this.underlayConditions.has(name) ? { conditions: this.poolConditions(name) } : {}),
      };
      try {
        await this.custom.patchNamespacedCustomObjectStatus(
          { group: METALLB_GROUP, version: 'v1beta1', namespace: this.opts.namespace, plural: 'ipaddresspools', name, body: { status } },
          setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
        );
      } catch (e) {
        // A pool that comes only from the legacy ConfigMap has no object to write to.
        if (apiStatusCode(e) !== 404) this.log.warn({ pool: name, err: describeApiError(e) }, 'could not write pool status');
      }
    }
  }
}
