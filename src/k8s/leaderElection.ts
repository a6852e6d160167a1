// Leader election on a coordination.k8s.io/v1 Lease (client-node has none): the I/O around
// leaseLogic.ts. One round every retry period: read the Lease, decide, write with the
// resourceVersion read (a 409 means another candidate wrote first: that round is lost).
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import { CoordinationV1Api, type KubeConfig, type V1Lease } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { apiStatusCode, describeApiError } from './apiErrors.js';
import {
  DEFAULT_LEASE_TIMING, INITIAL_CANDIDATE_STATE, afterWrite, checkLeaseTiming, leaseStep, releasedRecord, renewDeadlinePassed,
  type CandidateState, type LeaseRecord, type LeaseTiming,
} from './leaseLogic.js';

export interface LeaderElectorOptions {
  readonly namespace: string;
  readonly leaseName: string;
  /** Unique per process; default <hostname>_<uuid> like client-go (the pod name in a cluster). */
  readonly identity?: string;
  readonly timing?: LeaseTiming;
  readonly log: Logger;
  /** Called once, when this process becomes leader. */
  readonly onStartedLeading: () => void;
  /** Called once, when this process was leader and no longer is (it must stop writing at once). */
  readonly onStoppedLeading: () => void;
}

export function defaultIdentity(): string {
  return `${process.env.METALLB_POD_NAME ?? process.env.POD_NAME ?? hostname()}_${randomUUID()}`;
}

export class LeaderElector {
  readonly identity: string;
  private readonly api: CoordinationV1Api;
  private readonly timing: LeaseTiming;
  private state: CandidateState = INITIAL_CANDIDATE_STATE;
  private leading = false;
  private lastRenewMs = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private lastHolder = '';

  constructor(kc: KubeConfig, private readonly opts: LeaderElectorOptions) {
    this.api = kc.makeApiClient(CoordinationV1Api);
    this.identity = opts.identity ?? defaultIdentity();
    this.timing = opts.timing ?? DEFAULT_LEASE_TIMING;
    const bad = checkLeaseTiming(this.timing);
    if (bad) throw new Error(`leader election timing: ${bad}`);
  }

  get isLeader(): boolean {
    return this.leading;
  }

  start(): void {
    this.opts.log.info({ lease: `${this.opts.namespace}/${this.opts.leaseName}`, identity: this.identity }, 'leader election: waiting to acquire the lease');
    void this.round();
  }

  /** Stops campaigning; a leader gives the lease up so a standby takes over at its next retry. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (!this.leading) return;
    this.leading = false;
    try {
      const lease = await this.api.readNamespacedLease({ name: this.opts.leaseName, namespace: this.opts.namespace });
      const record = releasedRecord(lease.spec as LeaseRecord | undefined, this.identity, Date.now());
      if (record) {
        await this.api.replaceNamespacedLease({ name: this.opts.leaseName, namespace: this.opts.namespace, body: { ...lease, spec: toSpec(record) } });
        this.opts.log.info('leader election: released the lease');
      }
    } catch (e) {
      this.opts.log.warn({ err: describeApiError(e) }, 'leader election: could not release the lease; a standby takes over when it expires');
    }
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.round(), this.timing.retryPeriodMs);
  }

  private async round(): Promise<void> {
    if (this.stopped) return;
    let ok = false;
    try {
      ok = await this.tryAcquireOrRenew();
    } catch (e) {
      this.opts.log.warn({ err: describeApiError(e) }, 'leader election: lease round failed');
    }
    if (this.stopped) return;
    const now = Date.now();
    if (ok) {
      this.lastRenewMs = now;
      if (!this.leading) {
        this.leading = true;
        this.opts.log.info({ identity: this.identity }, 'leader election: became leader');
        this.opts.onStartedLeading();
      }
    } else if (this.leading && renewDeadlinePassed(this.lastRenewMs, now, this.timing)) {
      this.leading = false;
      this.stopped = true;
      this.opts.log.error({ renewDeadlineMs: this.timing.renewDeadlineMs }, 'leader election: could not renew the lease in time; stopping leading');
      this.opts.onStoppedLeading();
      return;
    }
    this.schedule();
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const { namespace, leaseName: name } = this.opts;
    let lease: V1Lease | undefined;
    try {
      lease = await this.api.readNamespacedLease({ name, namespace });
    } catch (e) {
      if (apiStatusCode(e) !== 404) throw e;
    }
    const current = lease ? ((lease.spec ?? {}) as LeaseRecord) : undefined;
    const now = Date.now();
    const { step, state } = leaseStep(current, this.identity, this.state, now, this.timing);
    this.state = state;
    if (step.action === 'wait') {
      if (step.holder !== this.lastHolder) this.opts.log.info({ holder: step.holder }, 'leader election: lease held by another candidate');
      this.lastHolder = step.holder;
      // A leader that sees someone else holding the lease has lost it.
      return false;
    }
    try {
      if (step.action === 'create') {
        await this.api.createNamespacedLease({ namespace, body: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name, namespace, labels: { 'app.kubernetes.io/part-of': 'ironlb' } }, spec: toSpec(step.record) } });
      } else {
        // metadata.resourceVersion from the read: the API server refuses the update if the Lease changed since.
        await this.api.replaceNamespacedLease({ name, namespace, body: { ...(lease as V1Lease), spec: toSpec(step.record) } });
      }
    } catch (e) {
      const code = apiStatusCode(e);
      if (code === 409) return false; // another candidate wrote first
      throw e;
    }
    this.state = afterWrite(step.record, Date.now());
    this.lastHolder = this.identity;
    return true;
  }
}

/** Times travel as MicroTime strings; client-node passes unknown-typed values through as they are. */
function toSpec(r: LeaseRecord): V1Lease['spec'] {
  return r as unknown as V1Lease['spec'];
}
