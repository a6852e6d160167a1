// Watches every object the configuration is made of (metallb.io CRs, the legacy ConfigMap,
// Secrets for BGP passwords, Nodes) in the MetalLB namespace and assembles ConfigResources.
import type { KubernetesObject, V1ConfigMap, V1Node, V1Secret } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { legacyToResources, type ConfigResources } from '../config/index.js';
import type { ConfigError } from '../config/model.js';
import { Reflector } from './reflector.js';
import type { KubeRest } from './rest.js';

export const METALLB_GROUP = 'metallb.io';

/** The metallb.io kinds that make up the configuration, with the version we read. */
export const CONFIG_KINDS = [
  { field: 'pools', kind: 'IPAddressPool', plural: 'ipaddresspools', version: 'v1beta1' },
  { field: 'l2Advertisements', kind: 'L2Advertisement', plural: 'l2advertisements', version: 'v1beta1' },
  { field: 'bgpAdvertisements', kind: 'BGPAdvertisement', plural: 'bgpadvertisements', version: 'v1beta1' },
  { field: 'bgpPeers', kind: 'BGPPeer', plural: 'bgppeers', version: 'v1beta2' },
  { field: 'bfdProfiles', kind: 'BFDProfile', plural: 'bfdprofiles', version: 'v1beta1' },
  { field: 'communities', kind: 'Community', plural: 'communities', version: 'v1beta1' },
] as const;

export const LEGACY_CONFIGMAP = 'config';

export interface ConfigSnapshot {
  readonly resources: ConfigResources;
  /** Errors of the legacy ConfigMap itself (bad YAML, missing protocol, ...). */
  readonly legacyErrors: ConfigError[];
  readonly legacyUsed: boolean;
}

export class ConfigSource {
  private readonly crs = new Map<string, Reflector<KubernetesObject>>();
  private readonly configMaps: Reflector<V1ConfigMap>;
  private readonly secrets: Reflector<V1Secret>;
  private readonly nodes: Reflector<V1Node> | undefined;

  constructor(
    api: KubeRest,
    private readonly namespace: string,
    log: Logger,
    onChange: () => void,
    opts: { watchNodes: boolean; /** Every node change that is not a pure heartbeat (labels, conditions, addresses). */ onNodeChange?: () => void },
  ) {
    for (const k of CONFIG_KINDS) {
      const r = new Reflector<KubernetesObject>({
        name: k.plural,
        path: `/apis/${METALLB_GROUP}/${k.version}/namespaces/${namespace}/${k.plural}`,
        api,
        log,
      });
      // The controller writes IPAddressPool status every few hundred ms while Services come and
      // go; a status write is not a config change (same generation and labels), and reloading
      // on it made each write start a full pass over every Service (and the next status write).
      r.on((ev, obj, old) => {
        if (ev === 'update' && old && sameConfigContent(old, obj)) return;
        onChange();
      });
      this.crs.set(k.field, r);
    }
    this.configMaps = new Reflector<V1ConfigMap>({
      name: 'configmaps',
      path: `/api/v1/namespaces/${namespace}/configmaps`,
      fieldSelector: `metadata.name=${LEGACY_CONFIGMAP}`,
      api,
      log,
    });
    this.configMaps.on(onChange);
    this.secrets = new Reflector<V1Secret>({
      name: 'secrets',
      path: `/api/v1/namespaces/${namespace}/secrets`,
      api,
      log,
    });
    this.secrets.on(onChange);
    if (opts.watchNodes) {
      this.nodes = new Reflector<V1Node>({
        name: 'nodes',
        path: '/api/v1/nodes',
        api,
        log,
      });
      // Only label changes matter to the configuration (MetalLB #1606: status heartbeats must
      // not force a re-parse).
      this.nodes.on((ev, obj, old) => {
        if (ev !== 'update' || JSON.stringify(obj.metadata?.labels ?? {}) !== JSON.stringify(old?.metadata?.labels ?? {})) onChange();
        if (opts.onNodeChange && (ev !== 'update' || nodeFactsChanged(obj, old))) opts.onNodeChange();
      });
    }
  }

  start(): void {
    for (const r of this.all()) r.start();
  }

  stop(): void {
    for (const r of this.all()) r.stop();
  }

  async synced(): Promise<void> {
    await Promise.all(this.all().map((r) => r.synced));
  }

  private all(): Reflector<KubernetesObject>[] {
    return [...this.crs.values(), this.configMaps, this.secrets, ...(this.nodes ? [this.nodes] : [])] as Reflector<KubernetesObject>[];
  }

  nodeObjects(): V1Node[] {
    return this.nodes?.list() ?? [];
  }

  secret(name: string): V1Secret | undefined {
    return this.secrets.get(`${this.namespace}/${name}`);
  }

  snapshot(): ConfigSnapshot {
    const list = (field: string) => this.crs.get(field)?.list() ?? [];
    const resources: ConfigResources = {
      pools: list('pools'),
      l2Advertisements: list('l2Advertisements'),
      bgpAdvertisements: list('bgpAdvertisements'),
      bgpPeers: list('bgpPeers'),
      bfdProfiles: list('bfdProfiles'),
      communities: list('communities'),
      secrets: this.secrets.list().map((s) => ({
        name: s.metadata?.name ?? '',
        namespace: s.metadata?.namespace ?? this.namespace,
        type: s.type,
        data: s.data ?? {},
      })),
      nodes: this.nodes?.list().map((n) => ({ name: n.metadata?.name ?? '', labels: n.metadata?.labels ?? {} })),
    };
    const cm = this.configMaps.get(`${this.namespace}/${LEGACY_CONFIGMAP}`);
    const legacyText = cm?.data?.config;
    if (legacyText === undefined) return { resources, legacyErrors: [], legacyUsed: false };
    // The legacy ConfigMap is read into the same model: its objects join the CRs and the one
    // parser validates the union (name clashes between the two are reported as duplicates).
    const legacy = legacyToResources(legacyText, this.namespace);
    if (!legacy.ok) return { resources, legacyErrors: legacy.errors, legacyUsed: true };
    const merged: ConfigResources = { ...resources };
    for (const k of CONFIG_KINDS) {
      merged[k.field] = [...resources[k.field], ...legacy.resources[k.field]];
    }
    return { resources: merged, legacyErrors: [], legacyUsed: true };
  }
}

/** Node changes that matter beyond labels; status heartbeats (lastHeartbeatTime) do not. */
function nodeFactsChanged(a: V1Node, b: V1Node | undefined): boolean {
  const facts = (n: V1Node | undefined) =>
    JSON.stringify([
      n?.metadata?.labels ?? {},
      (n?.status?.conditions ?? []).map((c) => [c.type, c.status]),
      n?.status?.addresses ?? [],
    ]);
  return facts(a) !== facts(b);
}

/** Spec and labels unchanged: CRDs with a status subresource bump metadata.generation on spec changes only; labels feed the pool selectors. */
export function sameConfigContent(old: KubernetesObject, now: KubernetesObject): boolean {
  const g0 = old.metadata?.generation;
  const g1 = now.metadata?.generation;
  if (g0 === undefined || g1 === undefined || g0 !== g1) return false;
  return JSON.stringify(old.metadata?.labels ?? {}) === JSON.stringify(now.metadata?.labels ?? {});
}
