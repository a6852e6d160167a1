// The per-(Service, node) status objects a speaker keeps (MetalLB 1.7): ServiceL2Status for layer 2,
// ServiceBGPStatus for BGP. Runs beside the announcing, never in its way: announcing is decided and
// done first, then this writer converges the objects with a few writes in flight, so 1,000 new
// Services cost seconds of API round trips without delaying the next failover.
import type { Logger } from 'pino';
import { apiStatusCode, describeApiError } from '../k8s/apiErrors.js';
import { METALLB_GROUP } from '../k8s/configSource.js';
import { OrderedWriter } from '../k8s/orderedWriter.js';
import { Reflector } from '../k8s/reflector.js';
import type { KubeRest } from '../k8s/rest.js';

export const LABEL_NODE = 'metallb.io/node';
export const LABEL_SERVICE_NAME = 'metallb.io/service-name';
export const LABEL_SERVICE_NAMESPACE = 'metallb.io/service-namespace';

export interface StatusKind {
  readonly kind: 'ServiceL2Status' | 'ServiceBGPStatus';
  readonly plural: 'servicel2statuses' | 'servicebgpstatuses';
  /** MetalLB's generateName prefixes: "l2-" and "bgp-". */
  readonly generateName: string;
}

/** A created object the watch has not shown after this long was deleted meanwhile (watch events arrive in well under a second). */
const CREATED_UNSEEN_TTL_MS = 10_000;

export const L2_STATUS: StatusKind = { kind: 'ServiceL2Status', plural: 'servicel2statuses', generateName: 'l2-' };
export const BGP_STATUS: StatusKind = { kind: 'ServiceBGPStatus', plural: 'servicebgpstatuses', generateName: 'bgp-' };

export interface StatusObject {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; labels?: Record<string, string>; resourceVersion?: string };
  status?: Record<string, unknown>;
}

/** The kind-specific part of a status (interfaces for L2, peers for BGP); node and Service names are added here. */
export type StatusExtra = Readonly<Record<string, unknown>>;

export interface StatusPlan {
  /** Objects to delete: duplicates, and objects of Services this node no longer announces. */
  readonly deletes: readonly { readonly key: string; readonly name: string }[];
  /** Services that need an object created (then its status written). */
  readonly creates: readonly { readonly key: string; readonly status: Record<string, unknown> }[];
  /** Existing objects whose status differs. */
  readonly patches: readonly { readonly key: string; readonly name: string; readonly status: Record<string, unknown> }[];
}

export function serviceKeyOf(obj: StatusObject): string {
  const l = obj.metadata?.labels ?? {};
  return `${l[LABEL_SERVICE_NAMESPACE] ?? ''}/${l[LABEL_SERVICE_NAME] ?? ''}`;
}

export function statusBody(nodeName: string, serviceKey: string, extra: StatusExtra): Record<string, unknown> {
  const [serviceNamespace, serviceName] = serviceKey.split('/') as [string, string];
  return { node: nodeName, serviceName, serviceNamespace, ...extra };
}

/** Pure: what to write so that exactly one object per desired Service exists with the desired status. */
export function planStatusWrites(nodeName: string, desired: ReadonlyMap<string, StatusExtra>, objects: readonly StatusObject[]): StatusPlan {
  const deletes: { key: string; name: string }[] = [];
  const patches: { key: string; name: string; status: Record<string, unknown> }[] = [];
  const kept = new Set<string>();
  // Oldest name first is not knowable; keep the first listed, which is stable across passes.
  for (const obj of objects) {
    const key = serviceKeyOf(obj);
    const name = obj.metadata?.name ?? '';
    if (kept.has(key) || !desired.has(key)) {
      deletes.push({ key, name });
      continue;
    }
    kept.add(key);
    const status = statusBody(nodeName, key, desired.get(key)!);
    if (JSON.stringify(obj.status ?? {}) !== JSON.stringify(status)) patches.push({ key, name, status });
  }
  const creates = [...desired].filter(([key]) => !kept.has(key)).map(([key, extra]) => ({ key, status: statusBody(nodeName, key, extra) }));
  return { deletes, creates, patches };
}

export interface StatusWriterOptions {
  readonly kind: StatusKind;
  readonly namespace: string;
  readonly nodeName: string;
  readonly log: Logger;
  /** Writes in flight at once. */
  readonly concurrency?: number;
  /** Counts every API write (metallb_k8s_client_updates_total). */
  readonly onWrite?: () => void;
  /**
   * Layer 2 only: before taking a Service over, delete its objects left by nodes known to be gone
   * (a crashed owner cannot delete its own). Kube-OVN reads these objects and refuses a Service
   * with several announcing nodes (kube-ovn-underlay.md 6.3). Only positively dead nodes count: a
   * freshly started speaker that has not heard of a live owner yet must not delete its object.
   */
  readonly goneNodes?: () => ReadonlySet<string>;
}

export class ServiceStatusWriter {
  private readonly objects: Reflector<StatusObject>;
  /** /apis/metallb.io/v1beta1/namespaces/<ns>/<plural> */
  private readonly collection: string;
  private readonly writer: OrderedWriter;
  /** Unset until the speaker has decided once: before that, an empty map would delete every object of a restarted speaker. */
  private desired: ReadonlyMap<string, StatusExtra> | undefined;
  /**
   * Objects we created that the watch has not shown yet (else the next pass would create another),
   * with when. An entry the watch never shows (created and deleted by someone else between two
   * passes) expires, so the object is created again.
   */
  private readonly createdUnseen = new Map<string, StatusObject & { createdAt?: number }>();
  private running = false;
  private syncing = false;
  private dirty = false;
  private retryTimer: NodeJS.Timeout | undefined;

  constructor(private readonly api: KubeRest, private readonly opts: StatusWriterOptions) {
    this.writer = new OrderedWriter(opts.concurrency ?? 8);
    const { plural } = opts.kind;
    this.collection = `/apis/${METALLB_GROUP}/v1beta1/namespaces/${encodeURIComponent(opts.namespace)}/${plural}`;
    this.objects = new Reflector<StatusObject>({
      name: plural, api, log: opts.log, labelSelector: `${LABEL_NODE}=${opts.nodeName}`, path: this.collection,
    });
    // Someone deleted or edited one of ours: converge again (self-healing, as MetalLB's status controllers).
    this.objects.on(() => this.schedule());
  }

  get synced(): Promise<void> {
    return this.objects.synced;
  }

  start(): void {
    this.running = true;
    this.objects.start();
  }

  stop(): void {
    this.running = false;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.objects.stop();
  }

  /** The status this node wants per announced Service ("ns/name" -> kind-specific part). */
  setDesired(desired: ReadonlyMap<string, StatusExtra>): void {
    this.desired = desired;
    this.schedule();
  }

  /** Resolves once every write so far is done (tests and benches). */
  async idle(): Promise<void> {
    while (this.syncing) await new Promise((r) => setTimeout(r, 20));
  }

  private schedule(): void {
    if (!this.running || !this.desired) return;
    if (this.syncing) {
      this.dirty = true;
      return;
    }
    this.syncing = true;
    queueMicrotask(() => void this.run());
  }

  private async run(): Promise<void> {
    try {
      do {
        this.dirty = false;
        await this.syncOnce();
      } while (this.dirty && this.running);
    } catch (e) {
      this.opts.log.warn({ kind: this.opts.kind.kind, err: describeApiError(e) }, 'writing status objects failed; retrying in 1 s');
      this.retryTimer = setTimeout(() => this.schedule(), 1000);
    } finally {
      this.syncing = false;
    }
  }

  private async syncOnce(): Promise<void> {
    const watched = this.objects.list();
    const watchedNames = new Set(watched.map((o) => o.metadata?.name));
    const now = Date.now();
    for (const [key, obj] of [...this.createdUnseen]) {
      if (watchedNames.has(obj.metadata?.name) || now - (obj.createdAt ?? now) > CREATED_UNSEEN_TTL_MS) this.createdUnseen.delete(key);
    }
    const plan = planStatusWrites(this.opts.nodeName, this.desired ?? new Map(), [...watched, ...this.createdUnseen.values()]);
    const { namespace, nodeName, kind } = this.opts;
    const patchStatus = async (name: string, status: Record<string, unknown>) => {
      this.opts.onWrite?.();
      await ignoreMissing(() => this.api.patch(`${this.collection}/${encodeURIComponent(name)}/status`, { status }, 'merge'));
    };
    const writes: Promise<void>[] = [];
    for (const d of plan.deletes) {
      writes.push(this.writer.submit(d.key, async () => {
        this.opts.onWrite?.();
        await ignoreMissing(() => this.api.delete(`${this.collection}/${encodeURIComponent(d.name)}`));
        if (this.createdUnseen.get(d.key)?.metadata?.name === d.name) this.createdUnseen.delete(d.key);
      }, false));
    }
    for (const p of plan.patches) {
      writes.push(this.writer.submit(p.key, async () => {
        await patchStatus(p.name, p.status);
        const unseen = this.createdUnseen.get(p.key);
        if (unseen?.metadata?.name === p.name) this.createdUnseen.set(p.key, { ...unseen, status: p.status });
      }, false));
    }
    for (const c of plan.creates) {
      const [svcNamespace, svcName] = c.key.split('/') as [string, string];
      writes.push(this.writer.submit(c.key, async () => {
        if (this.opts.goneNodes) await this.deleteLeftByDeadNodes(svcNamespace, svcName, this.opts.goneNodes());
        this.opts.onWrite?.();
        const created = await this.api.create<StatusObject>(this.collection, {
          apiVersion: `${METALLB_GROUP}/v1beta1`, kind: kind.kind,
          metadata: { generateName: kind.generateName, namespace, labels: { [LABEL_NODE]: nodeName, [LABEL_SERVICE_NAME]: svcName, [LABEL_SERVICE_NAMESPACE]: svcNamespace } },
        });
        this.createdUnseen.set(c.key, { ...created, createdAt: Date.now() });
        // The API server drops status on create: it is written through the status subresource.
        await patchStatus(created.metadata?.name ?? '', c.status);
        this.createdUnseen.set(c.key, { ...created, status: c.status, createdAt: Date.now() });
      }, false));
    }
    const results = await Promise.allSettled(writes);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  private async deleteLeftByDeadNodes(svcNamespace: string, svcName: string, gone: ReadonlySet<string>): Promise<void> {
    if (gone.size === 0) return;
    const { nodeName, kind } = this.opts;
    const list = await this.api.list<StatusObject>(this.collection, { labelSelector: `${LABEL_SERVICE_NAMESPACE}=${svcNamespace},${LABEL_SERVICE_NAME}=${svcName}` });
    for (const o of list.items) {
      const node = o.metadata?.labels?.[LABEL_NODE];
      if (!node || node === nodeName || !gone.has(node)) continue;
      this.opts.log.info({ service: `${svcNamespace}/${svcName}`, node, object: o.metadata?.name }, `deleting the ${kind.kind} left by a node that is gone`);
      this.opts.onWrite?.();
      await ignoreMissing(() => this.api.delete(`${this.collection}/${encodeURIComponent(o.metadata?.name ?? '')}`));
    }
  }

}

async function ignoreMissing(call: () => Promise<unknown>): Promise<void> {
  try {
    await call();
  } catch (e) {
    if (apiStatusCode(e) !== 404) throw e;
  }
}
