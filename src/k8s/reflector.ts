// List + watch of one resource into an in-memory store, like client-go's reflector.
// Written here rather than using client-node's ListWatch because that one stops for good on
// any error other than 410 and has no client-side watch timeout (see k8s-control-plane.md §2).
// This one: re-watches from the last resourceVersion, relists on 410 Gone, retries every other
// failure with capped backoff, and asks the server to end each watch after a few minutes.
import type { KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { apiStatusCode, describeApiError } from './apiErrors.js';
import type { KubeRest, WatchHandle } from './rest.js';

export type ReflectorEvent = 'add' | 'update' | 'delete';
export type ReflectorListener<T> = (event: ReflectorEvent, obj: T, old?: T) => void;

export interface ListResult<T> {
  items: T[];
  metadata?: { resourceVersion?: string };
}

export interface ReflectorOptions<T> {
  /** Human name for logs, e.g. "services". */
  readonly name: string;
  /** API path to list and watch, e.g. /api/v1/services or /apis/metallb.io/v1beta1/namespaces/x/ipaddresspools. */
  readonly path: string;
  readonly api: KubeRest;
  readonly log: Logger;
  /** Server-side watch timeout; the server closes the watch and we resume from the last RV. */
  readonly watchTimeoutSeconds?: number;
  readonly fieldSelector?: string;
  readonly labelSelector?: string;
}

export function objectKey(obj: KubernetesObject): string {
  const ns = obj.metadata?.namespace;
  return ns ? `${ns}/${obj.metadata?.name ?? ''}` : (obj.metadata?.name ?? '');
}

/**
 * The store drops metadata.managedFields: nothing here reads them, and with a few field managers
 * per object (kubectl, the controller's status and annotation patches) they are a large part of
 * every cached Service.
 */
function withoutManagedFields(obj: KubernetesObject): void {
  if (obj.metadata?.managedFields) delete obj.metadata.managedFields;
}

export class Reflector<T extends KubernetesObject> {
  private readonly store = new Map<string, T>();
  private readonly listeners: ReflectorListener<T>[] = [];
  private resourceVersion = '';
  private stopped = false;
  private abort: WatchHandle | undefined;
  private failures = 0;
  private syncedResolve!: () => void;
  /** Resolves once the first list has been delivered to the listeners. */
  readonly synced: Promise<void> = new Promise((r) => (this.syncedResolve = r));
  private retryTimer: NodeJS.Timeout | undefined;

  constructor(private readonly opts: ReflectorOptions<T>) {}

  on(listener: ReflectorListener<T>): void {
    this.listeners.push(listener);
  }

  get(key: string): T | undefined {
    return this.store.get(key);
  }

  list(): T[] {
    return [...this.store.values()];
  }

  start(): void {
    this.stopped = false;
    void this.relist();
  }

  stop(): void {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.abort?.abort();
  }

  private emit(event: ReflectorEvent, obj: T, old?: T): void {
    for (const l of this.listeners) {
      try {
        l(event, obj, old);
      } catch (e) {
        this.opts.log.error({ err: e, resource: this.opts.name }, 'listener failed');
      }
    }
  }

  private async relist(): Promise<void> {
    if (this.stopped) return;
    let result: ListResult<T>;
    try {
      result = await this.opts.api.list<T>(this.opts.path, {
        ...(this.opts.labelSelector ? { labelSelector: this.opts.labelSelector } : {}),
        ...(this.opts.fieldSelector ? { fieldSelector: this.opts.fieldSelector } : {}),
      });
    } catch (e) {
      this.retryLater('list', e);
      return;
    }
    if (this.stopped) return;
    const seen = new Set<string>();
    for (const item of result.items) {
      withoutManagedFields(item);
      const key = objectKey(item);
      seen.add(key);
      const old = this.store.get(key);
      this.store.set(key, item);
      if (!old) this.emit('add', item);
      else if (old.metadata?.resourceVersion !== item.metadata?.resourceVersion) this.emit('update', item, old);
    }
    for (const [key, old] of [...this.store]) {
      if (!seen.has(key)) {
        this.store.delete(key);
        this.emit('delete', old);
      }
    }
    this.resourceVersion = result.metadata?.resourceVersion ?? '';
    this.failures = 0;
    this.syncedResolve();
    void this.watch();
  }

  private async watch(): Promise<void> {
    if (this.stopped) return;
    const query: Record<string, string | number | boolean> = {
      resourceVersion: this.resourceVersion,
      allowWatchBookmarks: true,
      timeoutSeconds: this.opts.watchTimeoutSeconds ?? 240,
    };
    if (this.opts.fieldSelector) query.fieldSelector = this.opts.fieldSelector;
    if (this.opts.labelSelector) query.labelSelector = this.opts.labelSelector;
    let gone = false;
    const onEvent = (type: string, obj: T & { code?: number }) => {
      if (type === 'BOOKMARK') {
        this.resourceVersion = obj.metadata?.resourceVersion ?? this.resourceVersion;
        return;
      }
      if (type === 'ERROR') {
        // 410 Gone: our resourceVersion is too old; only a relist helps.
        if (obj.code === 410) gone = true;
        else this.opts.log.warn({ resource: this.opts.name, status: obj }, 'watch error event');
        return;
      }
      withoutManagedFields(obj);
      const key = objectKey(obj);
      this.resourceVersion = obj.metadata?.resourceVersion ?? this.resourceVersion;
      if (type === 'ADDED' || type === 'MODIFIED') {
        const old = this.store.get(key);
        this.store.set(key, obj);
        this.emit(old ? 'update' : 'add', obj, old);
      } else if (type === 'DELETED') {
        const old = this.store.get(key) ?? obj;
        this.store.delete(key);
        this.emit('delete', old);
      }
    };
    const onDone = (err: unknown) => {
      this.abort = undefined;
      if (this.stopped) return;
      const status = (err as { statusCode?: number } | null)?.statusCode;
      if (gone || status === 410) {
        this.resourceVersion = '';
        void this.relist();
      } else if (err) {
        this.retryLater('watch', err);
      } else {
        // Normal end (server timeout): resume from the last resourceVersion.
        void this.watch();
      }
    };
    try {
      this.abort = await this.opts.api.watch<T & { code?: number }>(this.opts.path, query, onEvent, onDone);
    } catch (e) {
      this.retryLater('watch', e);
    }
  }

  private retryLater(what: string, err: unknown): void {
    if (this.stopped) return;
    this.failures++;
    const delay = Math.min(100 * 2 ** Math.min(this.failures, 6), 5000);
    // 429 while the API server's cache for a new CRD initialises is expected at start-up.
    const level = apiStatusCode(err) === 429 && this.failures < 5 ? 'debug' : 'warn';
    this.opts.log[level]({ resource: this.opts.name, err: describeApiError(err), retryInMs: delay }, `${what} failed; retrying`);
    // After a failed watch we relist: the watch may have failed because the RV is gone.
    this.retryTimer = setTimeout(() => void (what === 'list' ? this.relist() : this.watch()), delay);
  }
}
