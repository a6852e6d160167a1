// Watches the Kube-OVN objects the underlay checks read (kubeovn.io/v1 Subnet, Vlan,
// ProviderNetwork, IP, and the kube-ovn-controller Deployment in kube-system). Kube-OVN is
// optional: while its CRDs are absent nothing is watched and nothing is logged above debug; the
// API is probed again every PROBE_INTERVAL_MS, so installing (or removing) Kube-OVN later works.
import type { KubernetesObject, V1Deployment } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { apiStatusCode, describeApiError } from './apiErrors.js';
import { Reflector } from './reflector.js';
import type { KubeRest } from './rest.js';

export const KUBE_OVN_GROUP = 'kubeovn.io';
export const KUBE_OVN_VERSION = 'v1';
export const KUBE_OVN_KINDS = ['subnets', 'vlans', 'provider-networks', 'ips'] as const;
export type KubeOvnPlural = (typeof KUBE_OVN_KINDS)[number];
export const KUBE_OVN_CONTROLLER = { namespace: 'kube-system', name: 'kube-ovn-controller' } as const;

const PROBE_INTERVAL_MS = 10_000;

export class KubeOvnSource {
  private reflectors: Map<KubeOvnPlural, Reflector<KubernetesObject>> | undefined;
  private deployment: Reflector<V1Deployment> | undefined;
  private probeTimer: NodeJS.Timeout | undefined;
  private stopped = true;

  constructor(
    private readonly api: KubeRest,
    private readonly log: Logger,
    private readonly onChange: () => void,
    /** The speaker needs subnets, vlans and provider-networks only (and has RBAC for no more). */
    private readonly scope: { readonly kinds: readonly KubeOvnPlural[]; readonly controllerDeployment: boolean } = { kinds: KUBE_OVN_KINDS, controllerDeployment: true },
  ) {}

  /** True while the Kube-OVN CRDs exist and are watched. */
  get present(): boolean {
    return this.reflectors !== undefined;
  }

  /** Probes once and, when Kube-OVN is there, waits for the first list of every kind. */
  async start(): Promise<void> {
    this.stopped = false;
    await this.probe();
    if (this.reflectors) await this.synced();
  }

  stop(): void {
    this.stopped = true;
    if (this.probeTimer) clearTimeout(this.probeTimer);
    this.stopWatching();
  }

  list(plural: KubeOvnPlural): KubernetesObject[] {
    return this.reflectors?.get(plural)?.list() ?? [];
  }

  controllerDeployment(): V1Deployment | undefined {
    return this.deployment?.get(`${KUBE_OVN_CONTROLLER.namespace}/${KUBE_OVN_CONTROLLER.name}`);
  }

  private async synced(): Promise<void> {
    await Promise.all([...(this.reflectors?.values() ?? []), ...(this.deployment ? [this.deployment] : [])].map((r) => r.synced));
  }

  private async probe(): Promise<void> {
    if (this.stopped) return;
    let present: boolean | undefined;
    try {
      await this.api.get(`/apis/${KUBE_OVN_GROUP}/${KUBE_OVN_VERSION}/subnets`, { limit: 1 });
      present = true;
    } catch (e) {
      if (apiStatusCode(e) === 404) present = false;
      else this.log.warn({ err: describeApiError(e) }, 'could not tell whether Kube-OVN is installed; underlay checks keep their last state');
    }
    if (present === true && !this.reflectors) this.startWatching();
    if (present === false && this.reflectors) {
      this.log.info('Kube-OVN CRDs are gone; underlay checks off');
      this.stopWatching();
      this.onChange();
    }
    if (present === false) this.log.debug('Kube-OVN CRDs absent; underlay checks off');
    if (!this.stopped) this.probeTimer = setTimeout(() => void this.probe(), PROBE_INTERVAL_MS);
  }

  private startWatching(): void {
    this.log.info({ kinds: this.scope.kinds, controllerDeployment: this.scope.controllerDeployment }, 'Kube-OVN CRDs found; watching them');
    const reflectors = new Map<KubeOvnPlural, Reflector<KubernetesObject>>();
    for (const plural of this.scope.kinds) {
      const r = new Reflector<KubernetesObject>({
        name: `${plural}.${KUBE_OVN_GROUP}`,
        path: `/apis/${KUBE_OVN_GROUP}/${KUBE_OVN_VERSION}/${plural}`,
        api: this.api,
        log: this.log,
      });
      r.on(() => this.onChange());
      reflectors.set(plural, r);
    }
    this.reflectors = reflectors;
    for (const r of reflectors.values()) r.start();
    if (this.scope.controllerDeployment) this.watchControllerDeployment();
    this.onChange();
  }

  private watchControllerDeployment(): void {
    const { namespace, name } = KUBE_OVN_CONTROLLER;
    const fieldSelector = `metadata.name=${name}`;
    this.deployment = new Reflector<V1Deployment>({
      name: `deployments/${name}`,
      path: `/apis/apps/v1/namespaces/${namespace}/deployments`,
      fieldSelector,
      api: this.api,
      log: this.log,
    });
    // Only the container args matter; status churn (replicas, conditions) does not.
    this.deployment.on((ev, d, old) => {
      if (ev === 'update' && JSON.stringify(d.spec?.template?.spec?.containers) === JSON.stringify(old?.spec?.template?.spec?.containers)) return;
      this.onChange();
    });
    this.deployment.start();
  }

  private stopWatching(): void {
    for (const r of this.reflectors?.values() ?? []) r.stop();
    this.deployment?.stop();
    this.reflectors = undefined;
    this.deployment = undefined;
  }
}
