// OVSDB management protocol client (RFC 7047): one connection to `unix:/path` or `tcp:host:port`,
// reconnected with back-off; monitors are re-issued on every new connection and their replicas
// rebuilt from the fresh initial dump. Requests made while disconnected wait for the next connection.
import { EventEmitter } from 'node:events';
import { createConnection, type Socket } from 'node:net';
import { type DatabaseSchema, decodeRow, OvsdbDecodeError, parseDatabaseSchema, type Row } from './datum.js';
import { checkTransactResult, type Condition, type Operation, type OperationResult } from './operations.js';
import { Replica, type RowChange } from './replica.js';
import { JsonRpcConnection, OvsdbConnectionError, OvsdbProtocolError, OvsdbRpcError, type RequestOptions } from './rpc.js';

export type Endpoint = { readonly kind: 'unix'; readonly path: string } | { readonly kind: 'tcp'; readonly host: string; readonly port: number };

/** Parses the OVS remote syntax `unix:/path` / `tcp:host:port` (`tcp:[v6]:port` for IPv6). */
export function parseEndpoint(s: string): Endpoint {
  if (s.startsWith('unix:')) {
    const path = s.slice(5);
    if (!path) throw new Error(`OVSDB endpoint "${s}": the unix socket path is empty (use unix:/run/openvswitch/db.sock)`);
    return { kind: 'unix', path };
  }
  const m = /^tcp:(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(s);
  if (m) {
    const port = Number(m[3]);
    if (port < 1 || port > 65535) throw new Error(`OVSDB endpoint "${s}": port ${port} is out of range 1..65535`);
    return { kind: 'tcp', host: (m[1] ?? m[2])!, port };
  }
  throw new Error(`OVSDB endpoint "${s}": expected unix:<path> or tcp:<host>:<port>`);
}

export interface OvsdbClientOptions {
  /** Per-request reply timeout, also how long a request waits for a connection. Default 30 s. */
  requestTimeoutMs?: number;
  connectTimeoutMs?: number;
  /** Send our own "echo" this often (RFC 7047 §4.1.11) as a liveness probe; 0 disables. Default 5 s. */
  echoIntervalMs?: number;
  /** A probe unanswered for this long closes the connection (then it reconnects). Default 5 s. */
  echoTimeoutMs?: number;
  reconnectInitialDelayMs?: number;
  reconnectMaxDelayMs?: number;
  maxMessageBytes?: number;
}

export interface MonitorTableRequest {
  /** Columns to replicate; all (non-ephemeral included) when omitted. */
  columns?: readonly string[];
  /** Row filter; only with monitor_cond (an OVS extension). */
  where?: readonly Condition[];
}
export type MonitorRequests = Readonly<Record<string, MonitorTableRequest>>;

export interface MonitorOptions {
  /** Try monitor_cond first (default true); falls back to monitor when the server rejects it. */
  preferMonitorCond?: boolean;
}

interface Waiter {
  resolve(c: JsonRpcConnection): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout;
}

interface MonitorRecord {
  readonly id: string;
  readonly db: string;
  readonly requests: MonitorRequests;
  readonly handle: OvsdbMonitor;
  /** Notifications that arrived before the initial dump of the current connection was applied. */
  buffered: { method: string; params: unknown[] }[] | null;
  conn: JsonRpcConnection | undefined;
  synced: boolean;
  everSynced: boolean;
}

/** A live monitor. Events: 'change' (RowChange[]), 'resynced' () after a reconnect rebuilt the replica. */
export class OvsdbMonitor extends EventEmitter {
  method: 'monitor_cond' | 'monitor' = 'monitor_cond';
  constructor(readonly id: string, readonly db: string, readonly replica: Replica, private readonly onCancel: () => Promise<void>) {
    super();
  }
  /** Stops the monitor (RFC 7047 §4.1.7 monitor_cancel) and forgets it for later reconnects. */
  cancel(): Promise<void> {
    return this.onCancel();
  }
}

/**
 * Events: 'connected' (), 'disconnected' (Error), 'protocolError' (Error: the server sent something
 * wrong but the connection went on). No 'error' event is ever emitted, so nothing can go unhandled.
 */
export class OvsdbClient extends EventEmitter {
  readonly endpoint: Endpoint;
  private readonly opts: Required<OvsdbClientOptions>;
  private conn: JsonRpcConnection | undefined;
  private ready = false;
  private stopped = false;
  private started = false;
  private loopDone: Promise<void> = Promise.resolve();
  private waiters = new Set<Waiter>();
  private wakeSleep: (() => void) | undefined;
  private schemas = new Map<string, Promise<DatabaseSchema>>(); // per connection
  private monitors = new Map<string, MonitorRecord>();
  private monitorSeq = 0;
  private condUnsupported = false; // per connection
  /** Connections established so far (1 after the first connect). */
  connectCount = 0;

  constructor(endpoint: string | Endpoint, opts: OvsdbClientOptions = {}) {
    super();
    this.endpoint = typeof endpoint === 'string' ? parseEndpoint(endpoint) : endpoint;
    this.opts = {
      requestTimeoutMs: opts.requestTimeoutMs ?? 30_000,
      connectTimeoutMs: opts.connectTimeoutMs ?? 5_000,
      echoIntervalMs: opts.echoIntervalMs ?? 5_000,
      echoTimeoutMs: opts.echoTimeoutMs ?? 5_000,
      reconnectInitialDelayMs: opts.reconnectInitialDelayMs ?? 100,
      reconnectMaxDelayMs: opts.reconnectMaxDelayMs ?? 8_000,
      maxMessageBytes: opts.maxMessageBytes ?? 64 * 1024 * 1024,
    };
  }

  get isConnected(): boolean {
    return this.ready;
  }

  /** Starts connecting (and reconnecting) in the background. Idempotent. */
  start(): this {
    if (!this.started && !this.stopped) {
      this.started = true;
      this.loopDone = this.loop();
    }
    return this;
  }

  /** Resolves once connected and all monitors are re-established. */
  async waitConnected(timeoutMs = this.opts.requestTimeoutMs): Promise<void> {
    await this.connection(timeoutMs, 'connect');
  }

  async close(): Promise<void> {
    this.stopped = true;
    this.wakeSleep?.();
    this.conn?.close(new OvsdbConnectionError('client closed'));
    this.failWaiters(new OvsdbConnectionError('the OVSDB client was closed'));
    await this.loopDone;
  }

  // ------------------------------------------------------------ methods (RFC 7047 §4.1)

  /** Any method, raw. Waits for a connection first. */
  async request(method: string, params: unknown[], opts: RequestOptions = {}): Promise<unknown> {
    const timeoutMs = opts.timeoutMs ?? this.opts.requestTimeoutMs;
    const conn = await this.connection(timeoutMs, method);
    return conn.request(method, params, { ...opts, timeoutMs });
  }

  /** §4.1.1 */
  async listDbs(): Promise<string[]> {
    const r = await this.request('list_dbs', []);
    if (!Array.isArray(r) || !r.every((d) => typeof d === 'string')) throw new OvsdbProtocolError(`list_dbs: "result" must be an array of strings, got ${JSON.stringify(r)?.slice(0, 80)}`);
    return r;
  }

  /** §4.1.2; cached for the life of the connection. */
  async getSchema(db: string): Promise<DatabaseSchema> {
    const conn = await this.connection(this.opts.requestTimeoutMs, 'get_schema');
    return this.schemaOn(conn, db);
  }

  /** §4.1.3. Rejects with OvsdbTransactError naming the failing operation. */
  async transact(db: string, ops: readonly Operation[], opts: RequestOptions = {}): Promise<OperationResult[]> {
    const r = await this.request('transact', [db, ...ops], opts);
    return checkTransactResult(db, ops, r);
  }

  /** A one-operation "select" (§5.2.2) whose rows are decoded against the schema. */
  async select(db: string, table: string, where: Condition[] = [], columns?: string[]): Promise<Row[]> {
    const schema = await this.getSchema(db);
    const ts = schema.tables.get(table);
    if (!ts) throw new OvsdbDecodeError(`select: database ${db} has no table "${table}"`);
    const op: Operation = columns ? { op: 'select', table, where, columns } : { op: 'select', table, where };
    const [res] = await this.transact(db, [op]);
    return (res as { rows: unknown[] }).rows.map((r, i) => decodeRow(r, ts, `select ${table} row ${i}`));
  }

  /** §4.1.11 */
  async echo(payload: unknown[] = ['ironlb']): Promise<unknown> {
    return this.request('echo', payload);
  }

  /**
   * Replicates `requests` (table -> columns) of `db` (§4.1.5; monitor_cond when the server has it).
   * Resolves after the initial dump is in the replica; the monitor survives reconnects.
   */
  async monitor(db: string, requests: MonitorRequests, opts: MonitorOptions = {}): Promise<OvsdbMonitor> {
    const id = `ironlb-mon-${++this.monitorSeq}`;
    const conn = await this.connection(this.opts.requestTimeoutMs, 'monitor');
    const schema = await this.schemaOn(conn, db);
    const handle = new OvsdbMonitor(id, db, new Replica(schema, Object.fromEntries(Object.entries(requests).map(([t, r]) => [t, r.columns]))), () => this.cancelMonitor(id));
    handle.method = opts.preferMonitorCond === false ? 'monitor' : 'monitor_cond';
    const rec: MonitorRecord = { id, db, requests, handle, buffered: null, conn: undefined, synced: false, everSynced: false };
    this.monitors.set(id, rec);
    try {
      await this.establish(conn, rec);
    } catch (e) {
      this.monitors.delete(id);
      throw e;
    }
    return handle;
  }

  private async cancelMonitor(id: string): Promise<void> {
    const rec = this.monitors.get(id);
    if (!rec) return;
    this.monitors.delete(id);
    const conn = rec.conn;
    if (conn?.isOpen) await conn.request('monitor_cancel', [id], { timeoutMs: this.opts.requestTimeoutMs }); // §4.1.7
  }

  // ------------------------------------------------------------ connection management

  private async loop(): Promise<void> {
    let delay = this.opts.reconnectInitialDelayMs;
    while (!this.stopped) {
      let sock: Socket | undefined;
      try {
        sock = await this.dial();
      } catch (e) {
        this.emit('disconnected', e as Error);
      }
      if (sock && !this.stopped) {
        let closed!: (err: Error | undefined) => void;
        const closedP = new Promise<Error | undefined>((r) => (closed = r));
        const conn = new JsonRpcConnection(sock, {
          onNotification: (m, p) => this.onNotification(conn, m, p),
          onProtocolError: (err) => this.emit('protocolError', err),
          onClose: (err) => closed(err),
        }, { maxMessageBytes: this.opts.maxMessageBytes });
        this.conn = conn;
        this.schemas = new Map();
        this.condUnsupported = false;
        const echo = this.startEcho(conn);
        try {
          for (const rec of this.monitors.values()) if (conn.isOpen) await this.establish(conn, rec).catch((e) => this.monitorFailed(conn, rec, e));
          if (conn.isOpen) {
            this.ready = true;
            this.connectCount++;
            delay = this.opts.reconnectInitialDelayMs;
            this.emit('connected');
            for (const w of [...this.waiters]) {
              this.waiters.delete(w);
              clearTimeout(w.timer);
              w.resolve(conn);
            }
          }
        } catch {
          /* establish failures are handled per monitor */
        }
        const err = await closedP;
        clearInterval(echo);
        this.ready = false;
        this.conn = undefined;
        this.emit('disconnected', err ?? new OvsdbConnectionError('connection closed'));
      }
      if (this.stopped) break;
      await new Promise<void>((r) => {
        const t = setTimeout(r, delay * (0.75 + Math.random() * 0.5));
        this.wakeSleep = () => {
          clearTimeout(t);
          r();
        };
      });
      this.wakeSleep = undefined;
      delay = Math.min(delay * 2, this.opts.reconnectMaxDelayMs);
    }
    this.failWaiters(new OvsdbConnectionError('the OVSDB client was closed'));
  }

  private dial(): Promise<Socket> {
    const ep = this.endpoint;
    return new Promise((resolve, reject) => {
      const sock = ep.kind === 'unix' ? createConnection({ path: ep.path }) : createConnection({ host: ep.host, port: ep.port });
      const name = ep.kind === 'unix' ? `unix:${ep.path}` : `tcp:${ep.host}:${ep.port}`;
      const timer = setTimeout(() => {
        sock.destroy();
        reject(new OvsdbConnectionError(`connect to ${name}: no answer within ${this.opts.connectTimeoutMs} ms`));
      }, this.opts.connectTimeoutMs);
      sock.once('error', (e) => {
        clearTimeout(timer);
        reject(new OvsdbConnectionError(`connect to ${name}: ${e.message}`));
      });
      sock.once('connect', () => {
        clearTimeout(timer);
        sock.removeAllListeners('error');
        if (ep.kind === 'tcp') sock.setNoDelay(true);
        resolve(sock);
      });
    });
  }

  private startEcho(conn: JsonRpcConnection): NodeJS.Timeout | undefined {
    if (!this.opts.echoIntervalMs) return undefined;
    let outstanding = false;
    const t = setInterval(() => {
      if (outstanding || !conn.isOpen) return;
      outstanding = true;
      conn
        .request('echo', ['ironlb-keepalive'], { timeoutMs: this.opts.echoTimeoutMs })
        .catch((e: Error) => {
          if (conn.isOpen) conn.close(new OvsdbConnectionError(`the server did not answer our echo within ${this.opts.echoTimeoutMs} ms (${e.message}); treating the connection as dead`));
        })
        .finally(() => (outstanding = false));
    }, this.opts.echoIntervalMs);
    t.unref();
    return t;
  }

  private connection(timeoutMs: number, what: string): Promise<JsonRpcConnection> {
    if (this.stopped) return Promise.reject(new OvsdbConnectionError(`${what}: the OVSDB client was closed`));
    this.start();
    if (this.ready && this.conn?.isOpen) return Promise.resolve(this.conn);
    return new Promise((resolve, reject) => {
      const w: Waiter = {
        resolve,
        reject,
        timer: setTimeout(() => {
          this.waiters.delete(w);
          reject(new OvsdbConnectionError(`${what}: no connection to the OVSDB server within ${timeoutMs} ms`));
        }, timeoutMs),
      };
      this.waiters.add(w);
    });
  }

  private failWaiters(err: Error): void {
    for (const w of [...this.waiters]) {
      this.waiters.delete(w);
      clearTimeout(w.timer);
      w.reject(err);
    }
  }

  private schemaOn(conn: JsonRpcConnection, db: string): Promise<DatabaseSchema> {
    let p = this.schemas.get(db);
    if (!p || this.conn !== conn) {
      p = conn.request('get_schema', [db], { timeoutMs: this.opts.requestTimeoutMs }).then(parseDatabaseSchema);
      if (this.conn === conn) this.schemas.set(db, p);
      p.catch(() => this.schemas.delete(db));
    }
    return p;
  }

  // ------------------------------------------------------------ monitors

  private async establish(conn: JsonRpcConnection, rec: MonitorRecord): Promise<void> {
    const schema = await this.schemaOn(conn, rec.db);
    for (const [table, req] of Object.entries(rec.requests)) {
      const ts = schema.tables.get(table);
      if (!ts) throw new OvsdbDecodeError(`monitor ${rec.db}: the server's schema has no table "${table}"`);
      for (const c of req.columns ?? []) if (!ts.columns.has(c)) throw new OvsdbDecodeError(`monitor ${rec.db}: table ${table} has no column "${c}"`);
    }
    rec.conn = conn;
    rec.synced = false;
    rec.buffered = [];
    const useCond = rec.handle.method === 'monitor_cond' && !this.condUnsupported;
    let result: unknown;
    let method: 'monitor_cond' | 'monitor' = useCond ? 'monitor_cond' : 'monitor';
    try {
      try {
        result = await conn.request(method, [rec.db, rec.id, this.monitorParams(rec, method)], { timeoutMs: this.opts.requestTimeoutMs });
      } catch (e) {
        if (!(e instanceof OvsdbRpcError) || method !== 'monitor_cond') throw e;
        // The OVS extension is missing (e.g. an RFC-only server): use plain §4.1.5 monitor.
        if (Object.values(rec.requests).some((r) => r.where && r.where.length > 0)) {
          throw new OvsdbRpcError('monitor_cond', e.error, 'the server lacks monitor_cond and this monitor has "where" conditions that plain monitor cannot express');
        }
        this.condUnsupported = true;
        method = 'monitor';
        result = await conn.request(method, [rec.db, rec.id, this.monitorParams(rec, method)], { timeoutMs: this.opts.requestTimeoutMs });
      }
      if (!conn.isOpen) throw new OvsdbConnectionError(`${method}: connection lost`);
      const fresh = new Replica(schema, Object.fromEntries(Object.entries(rec.requests).map(([t, r]) => [t, r.columns])));
      if (method === 'monitor_cond') fresh.applyUpdate2(result, `${method} ${rec.db} initial`);
      else fresh.applyUpdate(result, `${method} ${rec.db} initial`);
      const wasSynced = rec.everSynced;
      rec.everSynced = true;
      rec.handle.method = method;
      rec.handle.replica.replaceWith(fresh);
      rec.synced = true;
      const queued = rec.buffered ?? [];
      rec.buffered = null;
      if (wasSynced && this.monitors.has(rec.id)) rec.handle.emit('resynced');
      for (const n of queued) this.applyNotification(conn, rec, n.method, n.params);
    } catch (e) {
      rec.buffered = null;
      throw e instanceof OvsdbDecodeError ? new OvsdbProtocolError(e.message) : e;
    }
  }

  private monitorParams(rec: MonitorRecord, method: 'monitor_cond' | 'monitor'): Record<string, unknown[]> {
    const out: Record<string, unknown[]> = {};
    for (const [table, req] of Object.entries(rec.requests)) {
      const r: Record<string, unknown> = {};
      if (req.columns) r.columns = [...req.columns];
      if (method === 'monitor_cond' && req.where) r.where = [...req.where];
      out[table] = [r]; // §4.1.5: an array of <monitor-request>
    }
    return out;
  }

  private monitorFailed(conn: JsonRpcConnection, rec: MonitorRecord, e: unknown): void {
    if (!conn.isOpen) return; // the loop reconnects and retries
    if (e instanceof OvsdbProtocolError && conn.isOpen) {
      conn.close(new OvsdbProtocolError(`re-monitor ${rec.db}: ${e.message}`));
      return;
    }
    // The server refuses this monitor now (e.g. a table vanished after a schema change): drop it.
    this.monitors.delete(rec.id);
    this.emit('protocolError', new OvsdbProtocolError(`re-monitor ${rec.db} (${rec.id}) failed and was dropped: ${(e as Error).message}`));
  }

  private onNotification(conn: JsonRpcConnection, method: string, params: unknown[]): void {
    if (method !== 'update' && method !== 'update2') {
      if (method !== 'locked' && method !== 'stolen') this.emit('protocolError', new OvsdbProtocolError(`unexpected notification "${method}"`));
      return;
    }
    const rec = typeof params[0] === 'string' ? this.monitors.get(params[0]) : undefined;
    if (!rec || rec.conn !== conn) {
      // A notification for a just-cancelled monitor is legitimate; anything else is the server's mistake.
      this.emit('protocolError', new OvsdbProtocolError(`${method} for unknown monitor ${JSON.stringify(params[0])}`));
      return;
    }
    if (rec.buffered) rec.buffered.push({ method, params });
    else if (rec.synced) this.applyNotification(conn, rec, method, params);
  }

  private applyNotification(conn: JsonRpcConnection, rec: MonitorRecord, method: string, params: unknown[]): void {
    let changes: RowChange[];
    try {
      if (params.length !== 2) throw new OvsdbDecodeError(`${method} notification: "params" must be [monitor-id, updates], got ${params.length} elements`);
      changes = method === 'update2' ? rec.handle.replica.applyUpdate2(params[1], `${method} ${rec.db}`) : rec.handle.replica.applyUpdate(params[1], `${method} ${rec.db}`);
    } catch (e) {
      // The replica can no longer be trusted to match the server: drop the connection to resync.
      conn.close(new OvsdbProtocolError(`${(e as Error).message}; reconnecting to resync the replica`));
      return;
    }
    if (changes.length > 0) rec.handle.emit('change', changes);
  }
}
