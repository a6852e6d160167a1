// Kubernetes Events (events.k8s.io/v1) with MetalLB's reasons. Repeats of the same event for
// the same object are suppressed for a while so a reprocess pass does not flood the API.
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { describeApiError } from './apiErrors.js';
import type { KubeRest } from './rest.js';

export interface EventTarget {
  readonly apiVersion: string;
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  readonly uid?: string;
}

export interface EventSpec {
  readonly type: 'Normal' | 'Warning';
  readonly reason: string;
  readonly message: string;
}

const REPEAT_SUPPRESSION_MS = 10 * 60_000;

export class EventRecorder {
  private readonly recent = new Map<string, { text: string; at: number }>();

  constructor(
    private readonly api: KubeRest,
    private readonly reportingController: string,
    private readonly reportingInstance: string,
    private readonly log: Logger,
  ) {}

  record(target: EventTarget, ev: EventSpec): void {
    const objectKey = `${target.kind}/${target.namespace}/${target.name}`;
    const text = `${ev.type}/${ev.reason}/${ev.message}`;
    const last = this.recent.get(objectKey);
    const now = Date.now();
    if (last && last.text === text && now - last.at < REPEAT_SUPPRESSION_MS) return;
    this.recent.set(objectKey, { text, at: now });
    if (this.recent.size > 10_000) this.recent.delete(this.recent.keys().next().value as string);
    const logFn = ev.type === 'Warning' ? this.log.warn.bind(this.log) : this.log.info.bind(this.log);
    logFn({ object: objectKey, reason: ev.reason }, ev.message);
    const body = {
      // kubectl-style names: <object>.<16 hex>, unique without a round trip.
      metadata: { name: `${target.name}.${randomBytes(8).toString('hex')}`, namespace: target.namespace },
      eventTime: microTime(new Date()),
      reportingController: this.reportingController,
      reportingInstance: this.reportingInstance,
      action: ev.reason,
      reason: ev.reason,
      type: ev.type,
      note: ev.message.slice(0, 1024),
      regarding: { apiVersion: target.apiVersion, kind: target.kind, namespace: target.namespace, name: target.name, uid: target.uid },
    };
    this.api.create(`/apis/events.k8s.io/v1/namespaces/${encodeURIComponent(target.namespace)}/events`, body).catch((err: unknown) => {
      this.log.warn({ err: describeApiError(err), object: objectKey }, 'could not write event');
    });
  }

  /** Forget suppression state for an object (e.g. once it is fixed, the next error is news). */
  forget(target: Pick<EventTarget, 'kind' | 'namespace' | 'name'>): void {
    this.recent.delete(`${target.kind}/${target.namespace}/${target.name}`);
  }
}

/** A MicroTime (RFC 3339 with six fraction digits), as events.k8s.io/v1 eventTime requires. */
export function microTime(at: Date): string {
  return at.toISOString().replace(/Z$/, '000Z');
}
