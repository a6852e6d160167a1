// The webhook certificate's life outside the process: the Secret that holds it (so every replica
// and every restart serves the same CA) and the caBundle of the ValidatingWebhookConfiguration
// (so the API server trusts it). Like MetalLB's cert rotator: create on first start, renew
// before expiry, patch the caBundle on start and after every change.
import { AdmissionregistrationV1Api, CoreV1Api, PatchStrategy, setHeaderOptions, type KubeConfig, type V1Secret } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { apiStatusCode, describeApiError } from '../k8s/apiErrors.js';
import { renewedBundle, type CertificateBundle, type ServingNames } from './certificate.js';

/** Secret keys, the names cert-controller (MetalLB's rotator) uses. */
const KEYS = { caCert: 'ca.crt', caKey: 'ca.key', cert: 'tls.crt', key: 'tls.key' } as const;

export interface CertificateStoreOptions {
  readonly namespace: string;
  readonly secretName: string;
  readonly webhookConfigurationName: string;
  readonly names: ServingNames;
  /** false = the certificate is managed by someone else (cert-manager ...): read it, never write. */
  readonly rotate: boolean;
  readonly log: Logger;
}

function decode(secret: V1Secret | undefined): Partial<CertificateBundle> {
  const data = secret?.data ?? {};
  const get = (k: string) => (data[k] ? Buffer.from(data[k], 'base64').toString('utf8') : undefined);
  return { caCert: get(KEYS.caCert), caKey: get(KEYS.caKey), cert: get(KEYS.cert), key: get(KEYS.key) };
}

function encode(b: CertificateBundle): Record<string, string> {
  return Object.fromEntries(Object.entries(KEYS).map(([field, key]) => [key, Buffer.from(b[field as keyof CertificateBundle]).toString('base64')]));
}

export class CertificateStore {
  private readonly core: CoreV1Api;
  private readonly admission: AdmissionregistrationV1Api;

  constructor(kc: KubeConfig, private readonly opts: CertificateStoreOptions) {
    this.core = kc.makeApiClient(CoreV1Api);
    this.admission = kc.makeApiClient(AdmissionregistrationV1Api);
  }

  /**
   * The bundle to serve: the Secret's when it is good, else a renewed one written back with a
   * resourceVersion-checked update (two replicas starting together: one wins, the other re-reads).
   */
  async ensure(now = new Date()): Promise<CertificateBundle> {
    const { namespace, secretName: name, log } = this.opts;
    for (let attempt = 0; attempt < 5; attempt++) {
      let secret: V1Secret | undefined;
      try {
        secret = await this.core.readNamespacedSecret({ name, namespace });
      } catch (e) {
        if (apiStatusCode(e) !== 404) throw e;
      }
      const found = decode(secret);
      const renewed = this.opts.rotate ? renewedBundle(found, this.opts.names, now) : undefined;
      if (!renewed) {
        if (!found.caCert || !found.cert || !found.key) {
          throw new Error(`Secret ${namespace}/${name} has no complete certificate (keys ${Object.values(KEYS).join(', ')}) and certificate rotation is disabled; provide the certificate or drop --disable-cert-rotation`);
        }
        return found as CertificateBundle;
      }
      const body: V1Secret = {
        ...(secret ?? {}),
        apiVersion: 'v1', kind: 'Secret',
        metadata: { ...(secret?.metadata ?? {}), name, namespace, labels: { ...(secret?.metadata?.labels ?? {}), 'app.kubernetes.io/part-of': 'ironlb' } },
        type: secret?.type ?? 'Opaque',
        data: { ...(secret?.data ?? {}), ...encode(renewed) },
      };
      try {
        if (secret) await this.core.replaceNamespacedSecret({ name, namespace, body });
        else await this.core.createNamespacedSecret({ namespace, body });
        log.info({ secret: `${namespace}/${name}`, newCa: renewed.caCert !== found.caCert }, 'wrote the webhook certificate');
        return renewed;
      } catch (e) {
        if (apiStatusCode(e) !== 409) throw e; // 409: another replica wrote first; read theirs
        log.debug({ secret: `${namespace}/${name}` }, 'webhook certificate Secret changed meanwhile; reading it again');
      }
    }
    throw new Error(`could not settle the webhook certificate in Secret ${namespace}/${name}: it kept changing`);
  }

  /**
   * Sets clientConfig.caBundle of every webhook of the ValidatingWebhookConfiguration that lacks
   * this CA. A JSON patch with a `test` per entry, so a concurrent edit of the list fails the
   * patch instead of writing the bundle into the wrong webhook. Returns false when the object
   * does not exist (the API server then never calls us, which is not an error of ours).
   */
  async patchCaBundle(caCert: string): Promise<boolean> {
    const name = this.opts.webhookConfigurationName;
    const caBundle = Buffer.from(caCert).toString('base64');
    let vwc;
    try {
      vwc = await this.admission.readValidatingWebhookConfiguration({ name });
    } catch (e) {
      if (apiStatusCode(e) === 404) {
        this.opts.log.warn({ validatingWebhookConfiguration: name }, 'ValidatingWebhookConfiguration not found: the API server will not call this webhook; apply the manifests');
        return false;
      }
      throw e;
    }
    const ops = (vwc.webhooks ?? []).flatMap((w, i) =>
      w.clientConfig.caBundle === caBundle ? [] : [
        { op: 'test', path: `/webhooks/${i}/name`, value: w.name },
        { op: 'add', path: `/webhooks/${i}/clientConfig/caBundle`, value: caBundle },
      ]);
    if (!ops.length) return true;
    await this.admission.patchValidatingWebhookConfiguration({ name, body: ops }, setHeaderOptions('Content-Type', PatchStrategy.JsonPatch));
    this.opts.log.info({ validatingWebhookConfiguration: name, webhooks: ops.length / 2 }, 'patched caBundle');
    return true;
  }

  describeError(e: unknown): string {
    return describeApiError(e);
  }
}
