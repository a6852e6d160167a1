// Reads, in parallel, what `ironlb status` needs from the API server and turns it into the inputs of
// explainServices (explain.ts). Read-only: lists only, no watches.
import { CoreV1Api, CustomObjectsApi, DiscoveryV1Api, EventsV1Api, type KubeConfig, type V1Service } from '@kubernetes/client-node';
import { parseConfig } from '../config/index.js';
import { formatConfigError } from '../config/model.js';
import { emptyResources, type ConfigResources } from '../config/resources.js';
import { ANNOTATION_ALLOCATED_FROM_POOL, LEGACY_ANNOTATION_ALLOCATED_FROM_POOL } from '../controller/annotations.js';
import { apiStatusCode, describeApiError } from '../k8s/apiErrors.js';
import { CONFIG_KINDS, METALLB_GROUP } from '../k8s/configSource.js';
import { nodeFacts } from '../speaker/speaker.js';
import { endpointIndex } from '../speaker/endpoints.js';
import type { AnnouncerInput, EventInput, PoolCondition, ServiceInput, StatusInputs } from './explain.js';

interface Obj {
  metadata?: { name?: string; namespace?: string; labels?: Record<string, string> };
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
}

export interface CollectOptions {
  readonly namespace: string; // ironlb's (metallb-system)
  /** Only this Service ("ns/name"); otherwise every Service. */
  readonly service?: string;
  readonly lbClass?: string;
}

/** A 404 (CRD not installed, namespace missing) reads as an empty list; other errors name what was being read. */
async function listOrEmpty<T>(what: string, call: () => Promise<{ items: T[] }>): Promise<T[]> {
  for (let attempt = 1; ; attempt++) {
    try {
      return (await call()).items;
    } catch (e) {
      const code = apiStatusCode(e);
      if (code === 404) return [];
      // 429 "storage is (re)initializing" right after a CRD is installed, or an API server under load: retry briefly.
      if ((code === 429 || code === 503) && attempt < 10) {
        await new Promise((r) => setTimeout(r, 100 * attempt));
        continue;
      }
      throw new Error(`listing ${what}: ${describeApiError(e)}`);
    }
  }
}

export async function collectStatusInputs(kc: KubeConfig, opts: CollectOptions): Promise<StatusInputs> {
  const core = kc.makeApiClient(CoreV1Api);
  const custom = kc.makeApiClient(CustomObjectsApi);
  const discovery = kc.makeApiClient(DiscoveryV1Api);
  const eventsApi = kc.makeApiClient(EventsV1Api);
  const [svcNs, svcName] = opts.service ? (opts.service.split('/') as [string, string]) : [undefined, undefined];
  const metallb = (plural: string, version = 'v1beta1') => listOrEmpty(`${plural}.${METALLB_GROUP}`, () => custom.listNamespacedCustomObject({ group: METALLB_GROUP, version, namespace: opts.namespace, plural }) as Promise<{ items: Obj[] }>);

  const [services, events, slices, nodes, l2, bgp, states, secrets, ...configLists] = await Promise.all([
    svcNs && svcName
      ? core.readNamespacedService({ namespace: svcNs, name: svcName }).then((s) => [s], (e: unknown) => {
        if (apiStatusCode(e) === 404) throw new Error(`Service ${opts.service} does not exist`);
        throw e;
      })
      : core.listServiceForAllNamespaces().then((l) => l.items),
    svcNs
      ? listOrEmpty('events', () => eventsApi.listNamespacedEvent({ namespace: svcNs, fieldSelector: `regarding.kind=Service,regarding.name=${svcName}` }))
      : listOrEmpty('events', () => eventsApi.listEventForAllNamespaces({ fieldSelector: 'regarding.kind=Service' })),
    svcNs
      ? listOrEmpty('endpointslices', () => discovery.listNamespacedEndpointSlice({ namespace: svcNs, labelSelector: `kubernetes.io/service-name=${svcName}` }))
      : listOrEmpty('endpointslices', () => discovery.listEndpointSliceForAllNamespaces()),
    listOrEmpty('nodes', () => core.listNode()),
    metallb('servicel2statuses'),
    metallb('servicebgpstatuses'),
    metallb('configurationstates'),
    listOrEmpty('secrets', () => core.listNamespacedSecret({ namespace: opts.namespace })),
    ...CONFIG_KINDS.map((k) => metallb(k.plural, k.version)),
  ]);

  const resources: ConfigResources = emptyResources();
  CONFIG_KINDS.forEach((k, i) => {
    (resources[k.field] as unknown[]) = configLists[i] ?? [];
  });
  resources.nodes = nodes.map((n) => ({ name: n.metadata?.name ?? '', labels: n.metadata?.labels ?? {} }));
  resources.secrets = secrets.map((s) => ({ name: s.metadata?.name ?? '', namespace: s.metadata?.namespace ?? '', type: s.type, data: s.data ?? {} }));
  const parsed = parseConfig(resources);

  const poolConditions: PoolCondition[] = [];
  for (const p of (configLists[0] ?? []) as Obj[]) {
    for (const c of (p.status?.conditions as { type?: string; status?: string; reason?: string; message?: string }[] | undefined) ?? []) {
      poolConditions.push({ pool: p.metadata?.name ?? '', type: c.type ?? '', status: c.status ?? '', ...(c.reason ? { reason: c.reason } : {}), ...(c.message ? { message: c.message } : {}) });
    }
  }
  const poolAvailable = new Map<string, number>();
  for (const p of (configLists[0] ?? []) as Obj[]) {
    const st = p.status as { availableIPv4?: number; availableIPv6?: number } | undefined;
    if (st && (st.availableIPv4 !== undefined || st.availableIPv6 !== undefined)) poolAvailable.set(p.metadata?.name ?? '', (st.availableIPv4 ?? 0) + (st.availableIPv6 ?? 0));
  }
  const controllerState = states.find((s) => s.metadata?.name === 'controller')?.status as { result?: string; errorSummary?: string } | undefined;

  return {
    services: services.map(serviceInput),
    events: events.map((e): EventInput => ({
      service: `${e.regarding?.namespace ?? ''}/${e.regarding?.name ?? ''}`,
      type: e.type ?? '', reason: e.reason ?? '', message: e.note ?? '',
      at: new Date(e.series?.lastObservedTime ?? e.eventTime ?? e.deprecatedLastTimestamp ?? e.metadata?.creationTimestamp ?? 0).getTime(),
    })),
    config: parsed.ok ? { ok: true, config: parsed.config } : { ok: false, errors: parsed.errors.map(formatConfigError) },
    ...(controllerState?.result ? { controllerState: { result: controllerState.result, ...(controllerState.errorSummary ? { errorSummary: controllerState.errorSummary } : {}) } } : {}),
    poolConditions,
    poolAvailable,
    announcers: [...l2.map((o) => announcer(o, 'layer2')), ...bgp.map((o) => announcer(o, 'bgp'))].filter((a): a is AnnouncerInput => a !== undefined),
    endpoints: endpointIndex(slices),
    nodes: nodes.map((n) => ({ ...nodeFacts(n), ready: (n.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True') })),
    ...(opts.lbClass ? { lbClass: opts.lbClass } : {}),
  };
}

function serviceInput(s: V1Service): ServiceInput {
  const annotations = s.metadata?.annotations ?? {};
  const pool = annotations[ANNOTATION_ALLOCATED_FROM_POOL] ?? annotations[LEGACY_ANNOTATION_ALLOCATED_FROM_POOL];
  return {
    key: `${s.metadata?.namespace ?? ''}/${s.metadata?.name ?? ''}`,
    type: s.spec?.type ?? 'ClusterIP',
    ...(s.spec?.loadBalancerClass ? { loadBalancerClass: s.spec.loadBalancerClass } : {}),
    ingressIps: (s.status?.loadBalancer?.ingress ?? []).map((i) => i.ip ?? '').filter((ip) => ip !== ''),
    externalTrafficPolicyLocal: s.spec?.externalTrafficPolicy === 'Local',
    labels: s.metadata?.labels ?? {},
    ...(pool ? { allocatedFromPool: pool } : {}),
  };
}

function announcer(o: Obj, protocol: 'layer2' | 'bgp'): AnnouncerInput | undefined {
  const st = o.status as { node?: string; serviceName?: string; serviceNamespace?: string; interfaces?: { name: string }[]; peers?: string[] } | undefined;
  if (!st?.node || !st.serviceName) return undefined;
  return {
    service: `${st.serviceNamespace ?? ''}/${st.serviceName}`, node: st.node, protocol,
    ...(st.interfaces ? { interfaces: st.interfaces.map((i) => i.name) } : {}),
    ...(protocol === 'bgp' ? { peers: st.peers ?? [] } : {}),
  };
}
