// A small Kubernetes REST client: list, get, create, patch, delete and watch by API path, over
// one keep-alive HTTPS agent. Why not client-node: importing it costs the speaker about 70 MiB
// of resident memory (its entry point loads every generated API and model), more than the whole
// speaker needs. The speaker and the shared watchers (Reflector, ConfigSource, EventRecorder,
// KubeOvnSource) use this; the controller's typed writes and `ironlb status` keep client-node.
// Credentials: a kubeconfig's token, token file or client certificate, or the in-cluster service
// account (token re-read as the kubelet rotates it). Exec and auth-provider plugins are refused
// with a message: these processes run in the cluster.
import { readFileSync, existsSync } from 'node:fs';
import { Agent, request, type RequestOptions } from 'node:https';
import type { IncomingMessage } from 'node:http';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { KubeApiError } from './apiErrors.js';

/** Where and how to reach the API server. */
export interface KubeConnection {
  /** https://host:port, no trailing slash. */
  readonly server: string;
  readonly ca?: Buffer;
  readonly cert?: Buffer;
  readonly key?: Buffer;
  /** A fixed bearer token, or a file re-read every minute (service-account tokens rotate). */
  readonly token?: string;
  readonly tokenFile?: string;
  readonly insecureSkipTlsVerify?: boolean;
  readonly tlsServerName?: string;
  /** The context's namespace, if any. */
  readonly namespace?: string;
}

export type Query = Readonly<Record<string, string | number | boolean | undefined>>;
export type PatchType = 'merge' | 'strategic' | 'json' | 'apply';

const PATCH_CONTENT_TYPE: Record<PatchType, string> = {
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  json: 'application/json-patch+json',
  apply: 'application/apply-patch+yaml',
};

export interface ListResponse<T> {
  items: T[];
  metadata?: { resourceVersion?: string; continue?: string };
}

/** A running watch; abort() ends it without calling its done callback with an error. */
export interface WatchHandle {
  abort(): void;
}

const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
const TOKEN_REREAD_MS = 60_000;
const REQUEST_TIMEOUT_MS = 60_000;

export class KubeRest {
  private readonly agent: Agent;
  private readonly base: URL;
  private tokenCache: { value: string; readAt: number } | undefined;

  constructor(readonly connection: KubeConnection) {
    this.base = new URL(connection.server);
    if (this.base.protocol !== 'https:') throw new Error(`API server "${connection.server}": only https is supported`);
    // maxSockets bounds bursts (1,000 Events at once); it stays far above the dozen long-lived
    // watches a process holds, so a watch never waits for a socket.
    this.agent = new Agent({
      keepAlive: true, maxSockets: 64, maxFreeSockets: 16,
      ...(connection.ca ? { ca: connection.ca } : {}),
      ...(connection.cert ? { cert: connection.cert } : {}),
      ...(connection.key ? { key: connection.key } : {}),
      ...(connection.tlsServerName ? { servername: connection.tlsServerName } : {}),
      rejectUnauthorized: !connection.insecureSkipTlsVerify,
    });
  }

  /** Every page of a list (limit 500 per page), as one list with the last page's resourceVersion. */
  async list<T>(path: string, query: Query = {}): Promise<ListResponse<T>> {
    const items: T[] = [];
    let cont: string | undefined;
    let resourceVersion: string | undefined;
    do {
      const page = await this.request<ListResponse<T>>('GET', path, { query: { limit: 500, ...query, continue: cont } });
      items.push(...(page.items ?? []));
      cont = page.metadata?.continue || undefined;
      resourceVersion = page.metadata?.resourceVersion ?? resourceVersion;
    } while (cont);
    return { items, metadata: resourceVersion === undefined ? {} : { resourceVersion } };
  }

  get<T>(path: string, query: Query = {}): Promise<T> {
    return this.request<T>('GET', path, { query });
  }

  create<T>(path: string, body: unknown, query: Query = {}): Promise<T> {
    return this.request<T>('POST', path, { query, body });
  }

  patch<T>(path: string, body: unknown, type: PatchType, query: Query = {}): Promise<T> {
    return this.request<T>('PATCH', path, { query, body, contentType: PATCH_CONTENT_TYPE[type] });
  }

  delete<T>(path: string, query: Query = {}): Promise<T> {
    return this.request<T>('DELETE', path, { query });
  }

  /** One call; a non-2xx answer throws KubeApiError with the API server's Status as body. */
  request<T>(method: string, path: string, opts: { query?: Query; body?: unknown; contentType?: string } = {}): Promise<T> {
    const payload = opts.body === undefined ? undefined : Buffer.from(JSON.stringify(opts.body));
    return new Promise<T>((resolve, reject) => {
      const req = request(this.options(method, path, opts.query, {
        accept: 'application/json',
        ...(payload ? { 'content-type': opts.contentType ?? 'application/json', 'content-length': String(payload.length) } : {}),
      }), (res) => {
        const chunks: Buffer[] = [];
        let ended = false;
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        // A connection cut mid-answer ends with 'close' and no 'end': fail rather than hang.
        res.on('close', () => ended || reject(new Error(`${method} ${path}: the connection closed before the whole answer arrived`)));
        res.on('end', () => {
          ended = true;
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = text;
          try {
            parsed = text ? JSON.parse(text) : undefined;
          } catch { /* not JSON: keep the text */ }
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) resolve(parsed as T);
          else reject(new KubeApiError(status, parsed, method, path));
        });
      });
      req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(new Error(`${method} ${path}: no answer from the API server within ${REQUEST_TIMEOUT_MS / 1000} s`)));
      req.on('error', reject);
      req.end(payload);
    });
  }

  /**
   * GET path?watch=true: onEvent for every event (type, object), onDone once when the stream
   * ends (undefined: the server ended it, e.g. timeoutSeconds) or fails (an error with statusCode
   * when the server refused the watch). abort() ends it quietly. A silent connection is dropped
   * after the server timeout plus 30 s.
   */
  watch<T>(path: string, query: Query, onEvent: (type: string, obj: T) => void, onDone: (err?: unknown) => void): Promise<WatchHandle> {
    const idleMs = (Number(query.timeoutSeconds ?? 300) + 30) * 1000;
    let finished = false;
    let aborted = false;
    let responded = false;
    const finish = (err?: unknown) => {
      if (finished) return;
      finished = true;
      if (!aborted) onDone(err);
    };
    return new Promise<WatchHandle>((resolve, reject) => {
      const req = request(this.options('GET', path, { ...query, watch: true }, { accept: 'application/json' }), (res: IncomingMessage) => {
        responded = true;
        const handle = { abort: () => { aborted = true; req.destroy(); } };
        if (res.statusCode !== 200) {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            let body: unknown = Buffer.concat(chunks).toString('utf8');
            try { body = JSON.parse(body as string); } catch { /* keep text */ }
            const err = Object.assign(new KubeApiError(res.statusCode ?? 0, body, 'WATCH', path), { statusCode: res.statusCode });
            finish(err);
          });
          resolve(handle);
          return;
        }
        let pending = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          pending += chunk;
          let nl: number;
          while ((nl = pending.indexOf('\n')) >= 0) {
            const line = pending.slice(0, nl).trim();
            pending = pending.slice(nl + 1);
            if (!line) continue;
            let event: { type?: string; object?: T };
            try {
              event = JSON.parse(line) as { type?: string; object?: T };
            } catch (e) {
              finish(new Error(`watch ${path}: undecodable event (${(e as Error).message})`));
              req.destroy();
              return;
            }
            if (event.type && event.object !== undefined) onEvent(event.type, event.object);
          }
        });
        res.on('end', () => finish());
        res.on('error', (e) => finish(e));
        res.on('close', () => finish());
        resolve(handle);
      });
      req.setTimeout(idleMs, () => req.destroy(new Error(`watch ${path}: nothing from the API server for ${idleMs / 1000} s`)));
      req.on('error', (e) => {
        // Before the response the promise rejects (like client-node); after it, onDone reports.
        if (responded) finish(e);
        else if (!finished) {
          finished = true;
          reject(e);
        }
      });
      req.end();
    });
  }

  close(): void {
    this.agent.destroy();
  }

  private options(method: string, path: string, query: Query | undefined, headers: Record<string, string>): RequestOptions {
    // Appended, not resolved: a server URL may carry a path prefix (a proxy in front of the API server).
    const url = new URL(`${this.base.href.replace(/\/+$/, '')}${path}`);
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined && v !== '') url.searchParams.set(k, String(v));
    const token = this.token();
    return {
      method, agent: this.agent, hostname: this.base.hostname.replace(/^\[|\]$/g, ''), port: this.base.port || 443,
      path: `${url.pathname}${url.search}`,
      headers: { ...headers, 'user-agent': 'ironlb', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    };
  }

  private token(): string | undefined {
    if (this.connection.token) return this.connection.token;
    if (!this.connection.tokenFile) return undefined;
    const now = Date.now();
    if (!this.tokenCache || now - this.tokenCache.readAt > TOKEN_REREAD_MS) {
      this.tokenCache = { value: readFileSync(this.connection.tokenFile, 'utf8').trim(), readAt: now };
    }
    return this.tokenCache.value;
  }
}

/** --kubeconfig, else in-cluster (no $KUBECONFIG and KUBERNETES_SERVICE_HOST set), else $KUBECONFIG, else ~/.kube/config: the order of loadKubeConfig. */
export function loadKubeRest(path?: string): KubeRest {
  return new KubeRest(resolveConnection(path));
}

export function resolveConnection(path?: string, env: NodeJS.ProcessEnv = process.env): KubeConnection {
  if (path) {
    if (!existsSync(path)) throw new Error(`kubeconfig "${path}" does not exist; pass --kubeconfig with the path of a kubeconfig file`);
    return connectionFromKubeconfig(readFileSync(path, 'utf8'), path);
  }
  if (!env.KUBECONFIG && env.KUBERNETES_SERVICE_HOST) return inClusterConnection(env);
  const file = env.KUBECONFIG ? env.KUBECONFIG.split(':').find((f) => f && existsSync(f)) : join(homedir(), '.kube', 'config');
  if (!file || !existsSync(file)) throw new Error('no Kubernetes cluster configured: pass --kubeconfig, set KUBECONFIG, or run inside a cluster');
  return connectionFromKubeconfig(readFileSync(file, 'utf8'), file);
}

export function inClusterConnection(env: NodeJS.ProcessEnv = process.env, dir = SERVICE_ACCOUNT_DIR): KubeConnection {
  const host = env.KUBERNETES_SERVICE_HOST ?? '';
  const port = env.KUBERNETES_SERVICE_PORT ?? '443';
  const tokenFile = join(dir, 'token');
  if (!existsSync(tokenFile)) throw new Error(`in-cluster: ${tokenFile} is missing; mount the service account token (automountServiceAccountToken: true)`);
  const caFile = join(dir, 'ca.crt');
  const namespaceFile = join(dir, 'namespace');
  return {
    server: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
    tokenFile,
    ...(existsSync(caFile) ? { ca: readFileSync(caFile) } : {}),
    ...(existsSync(namespaceFile) ? { namespace: readFileSync(namespaceFile, 'utf8').trim() } : {}),
  };
}

interface Named<T> { name?: string; [key: string]: unknown; cluster?: T; user?: T; context?: T }

/** The current context of a kubeconfig (YAML text); relative file paths are relative to the file. */
export function connectionFromKubeconfig(text: string, file: string): KubeConnection {
  const doc = (parseYaml(text) ?? {}) as { 'current-context'?: string; contexts?: Named<Record<string, string>>[]; clusters?: Named<Record<string, unknown>>[]; users?: Named<Record<string, unknown>>[] };
  const contextName = doc['current-context'];
  const context = (doc.contexts ?? []).find((c) => c.name === contextName)?.context ?? (doc.contexts?.length === 1 ? doc.contexts[0]?.context : undefined);
  if (!context) throw new Error(`kubeconfig "${file}": current-context "${contextName ?? ''}" not found in contexts; set current-context`);
  const cluster = (doc.clusters ?? []).find((c) => c.name === context.cluster)?.cluster;
  if (!cluster || typeof cluster.server !== 'string') throw new Error(`kubeconfig "${file}": cluster "${context.cluster ?? ''}" of context "${contextName ?? ''}" has no server`);
  const user = (context.user ? (doc.users ?? []).find((u) => u.name === context.user)?.user : undefined) ?? {};
  for (const unsupported of ['exec', 'auth-provider', 'username']) {
    if (user[unsupported] !== undefined) throw new Error(`kubeconfig "${file}": user "${context.user}" uses ${unsupported}, which ironlb's speaker and controller do not support; use a token, token file or client certificate (or run in the cluster with its service account)`);
  }
  const base = dirname(file);
  const bytes = (dataKey: string, fileKey: string, from: Record<string, unknown>): Buffer | undefined => {
    const data = from[dataKey];
    if (typeof data === 'string') return Buffer.from(data, 'base64');
    const f = from[fileKey];
    if (typeof f === 'string') return readFileSync(isAbsolute(f) ? f : join(base, f));
    return undefined;
  };
  const ca = bytes('certificate-authority-data', 'certificate-authority', cluster);
  const cert = bytes('client-certificate-data', 'client-certificate', user);
  const key = bytes('client-key-data', 'client-key', user);
  const tokenFile = typeof user.tokenFile === 'string' ? (isAbsolute(user.tokenFile) ? user.tokenFile : join(base, user.tokenFile)) : undefined;
  return {
    server: cluster.server.replace(/\/+$/, ''),
    ...(ca ? { ca } : {}),
    ...(cert ? { cert } : {}),
    ...(key ? { key } : {}),
    ...(typeof user.token === 'string' ? { token: user.token } : {}),
    ...(tokenFile ? { tokenFile } : {}),
    ...(cluster['insecure-skip-tls-verify'] === true ? { insecureSkipTlsVerify: true } : {}),
    ...(typeof cluster['tls-server-name'] === 'string' ? { tlsServerName: cluster['tls-server-name'] } : {}),
    ...(typeof context.namespace === 'string' ? { namespace: context.namespace } : {}),
  };
}
