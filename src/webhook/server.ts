// The validating webhook's HTTPS endpoint inside the controller process. It answers
// AdmissionReviews from the controller's caches (reviewAdmission is pure), on MetalLB's paths.
// Served by every replica, leader or not: validation writes nothing.
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { ConfigResources } from '../config/index.js';
import { admissionReviewResponse } from './admission.js';
import { serviceDnsNames } from './certificate.js';
import { CertificateStore } from './certificateStore.js';

/** MetalLB's webhook paths; the decision depends on the request's kind, not on the path. */
export const WEBHOOK_PATHS = [
  '/validate-metallb-io-v1beta1-ipaddresspool',
  '/validate-metallb-io-v1beta1-l2advertisement',
  '/validate-metallb-io-v1beta1-bgpadvertisement',
  '/validate-metallb-io-v1beta1-community',
  '/validate-metallb-io-v1beta1-bfdprofile',
  '/validate-metallb-io-v1beta2-bgppeer',
] as const;

/** The API server sends whole objects; 3 MiB is its own request limit. */
const MAX_BODY_BYTES = 3 << 20;
/** How often the certificate is checked for renewal and the caBundle re-asserted. */
const CERT_CHECK_INTERVAL_MS = 60 * 60_000;

export interface WebhookServerOptions {
  readonly port: number;
  readonly host: string;
  /** Namespace of the configuration, the Secret and the Service. */
  readonly namespace: string;
  readonly secretName: string;
  readonly serviceName: string;
  readonly webhookConfigurationName: string;
  /** IP SANs beyond the Service's DNS names (the lab calls the webhook at https://127.0.0.1). */
  readonly certIps: readonly string[];
  readonly rotateCertificate: boolean;
  /** The configuration objects as they are now. */
  readonly current: () => ConfigResources;
  readonly log: Logger;
}

export class WebhookServer {
  private server: Server | undefined;
  private readonly store: CertificateStore;
  private timer: NodeJS.Timeout | undefined;
  private servedCa = '';
  private servedCert = '';

  constructor(kc: KubeConfig, private readonly opts: WebhookServerOptions) {
    this.store = new CertificateStore(kc, {
      namespace: opts.namespace, secretName: opts.secretName, webhookConfigurationName: opts.webhookConfigurationName,
      names: { dnsNames: serviceDnsNames(opts.serviceName, opts.namespace), ipAddresses: [...opts.certIps] },
      rotate: opts.rotateCertificate, log: opts.log,
    });
  }

  /** Settles the certificate, patches the caBundle, then listens. Resolves once listening. */
  async start(): Promise<void> {
    const bundle = await this.store.ensure();
    this.servedCert = bundle.cert;
    this.servedCa = bundle.caCert;
    const server = createServer({ cert: bundle.cert, key: bundle.key, minVersion: 'TLSv1.2' }, (req, res) => this.handle(req, res));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.opts.port, this.opts.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.opts.log.info({ address: `${this.opts.host}:${this.opts.port}`, paths: WEBHOOK_PATHS.length }, 'validating webhook listening');
    if (this.opts.rotateCertificate) await this.patchCaBundle();
    this.schedule();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.server?.close();
  }

  private schedule(): void {
    this.timer = setTimeout(() => {
      void this.refresh().finally(() => this.schedule());
    }, CERT_CHECK_INTERVAL_MS);
    this.timer.unref();
  }

  /** Re-reads (and if due renews) the certificate; swaps it into the TLS server without a restart. */
  private async refresh(): Promise<void> {
    try {
      const bundle = await this.store.ensure();
      if (bundle.cert !== this.servedCert) {
        this.server?.setSecureContext({ cert: bundle.cert, key: bundle.key, minVersion: 'TLSv1.2' });
        this.servedCert = bundle.cert;
        this.opts.log.info('serving a renewed webhook certificate');
      }
      this.servedCa = bundle.caCert;
      if (this.opts.rotateCertificate) await this.patchCaBundle();
    } catch (e) {
      this.opts.log.warn({ err: this.store.describeError(e) }, 'webhook certificate check failed; keeping the current one, retrying later');
    }
  }

  private async patchCaBundle(): Promise<void> {
    try {
      await this.store.patchCaBundle(this.servedCa);
    } catch (e) {
      this.opts.log.warn({ err: this.store.describeError(e) }, 'could not patch the caBundle of the ValidatingWebhookConfiguration; retrying at the next certificate check');
    }
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '').split('?')[0] ?? '';
    if (req.method !== 'POST' || !(WEBHOOK_PATHS as readonly string[]).includes(path)) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`ironlb webhook: POST an AdmissionReview to one of ${WEBHOOK_PATHS.join(' ')}\n`);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        res.writeHead(413, { 'content-type': 'text/plain' }).end('AdmissionReview too large\n');
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => {
      if (res.headersSent) return;
      let reply: string;
      try {
        const review = admissionReviewResponse(JSON.parse(Buffer.concat(chunks).toString('utf8')), { namespace: this.opts.namespace, current: this.opts.current() });
        const r = review.response;
        this.opts.log.info({ path, uid: r?.uid, allowed: r?.allowed, message: r?.status?.message, warnings: r?.warnings?.length ?? 0 }, 'admission review');
        reply = JSON.stringify(review);
      } catch (e) {
        res.writeHead(400, { 'content-type': 'text/plain' }).end(`${(e as Error).message}\n`);
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(reply);
    });
  }
}
