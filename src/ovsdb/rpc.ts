// JSON-RPC 1.0 over one byte stream, as RFC 7047 §4 uses it: requests {"method","params","id"},
// replies {"result","error","id"}, notifications with "id": null. Answers the server's "echo" (§4.1.11).
import type { Duplex } from 'node:stream';
import { JsonStreamError, JsonValueSplitter } from './jsonStream.js';

/** The server answered a request with a non-null "error" (RFC 7047 §3.1 <error>). */
export class OvsdbRpcError extends Error {
  override readonly name = 'OvsdbRpcError';
  constructor(readonly method: string, readonly error: unknown, readonly details?: unknown) {
    super(`${method}: server error ${describeServerError(error, details)}`);
  }
}

/** The peer broke the protocol (malformed reply, unknown id, non-JSON, oversized). */
export class OvsdbProtocolError extends Error {
  override readonly name = 'OvsdbProtocolError';
}

/** The connection closed, timed out or was never there. */
export class OvsdbConnectionError extends Error {
  override readonly name = 'OvsdbConnectionError';
}

export function describeServerError(error: unknown, details?: unknown): string {
  if (typeof error === 'object' && error !== null && !Array.isArray(error)) {
    const e = error as Record<string, unknown>;
    const d = e.details ?? details;
    return `"${String(e.error)}"${d !== undefined && d !== null ? ` (${typeof d === 'string' ? d : JSON.stringify(d)})` : ''}`;
  }
  const d = details === undefined || details === null ? '' : ` (${typeof details === 'string' ? details : JSON.stringify(details)})`;
  return JSON.stringify(error) + d;
}

export interface RpcHandlers {
  /** A notification ("id": null), e.g. "update", "update2", "locked". */
  onNotification(method: string, params: unknown[]): void;
  /** Something the peer sent was wrong but the connection can carry on. */
  onProtocolError(err: OvsdbProtocolError): void;
  /** The connection is gone; `err` says why (undefined after close() without a reason). Called once. */
  onClose(err: Error | undefined): void;
}

export interface RequestOptions {
  timeoutMs?: number;
  /** Aborting sends RFC 7047 §4.1.4 "cancel" and rejects the request. */
  signal?: AbortSignal;
}

interface Pending {
  method: string;
  resolve(v: unknown): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout | undefined;
  cleanup(): void;
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const snippet = (s: string) => (s.length > 120 ? `${s.slice(0, 117)}...` : s);

export class JsonRpcConnection {
  private readonly splitter: JsonValueSplitter;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closedWith: Error | undefined | null = null; // null = open

  constructor(private readonly socket: Duplex, private readonly handlers: RpcHandlers, opts: { maxMessageBytes?: number } = {}) {
    this.splitter = new JsonValueSplitter({ maxMessageBytes: opts.maxMessageBytes });
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('end', () => {
      try {
        this.splitter.end();
        this.shutdown(new OvsdbConnectionError('the server closed the connection'));
      } catch (e) {
        this.shutdown(new OvsdbProtocolError(`the server closed the connection mid-message: ${(e as Error).message}`));
      }
    });
    socket.on('error', (e) => this.shutdown(new OvsdbConnectionError(`connection error: ${e.message}`)));
    socket.on('close', () => this.shutdown(new OvsdbConnectionError('the connection closed')));
  }

  get isOpen(): boolean {
    return this.closedWith === null;
  }

  request(method: string, params: unknown[], opts: RequestOptions = {}): Promise<unknown> {
    if (this.closedWith !== null) return Promise.reject(new OvsdbConnectionError(`${method}: not connected (${this.closedWith?.message ?? 'closed'})`));
    if (opts.signal?.aborted) return Promise.reject(new OvsdbConnectionError(`${method}: aborted before it was sent`));
    const id = this.nextId++;
    return new Promise<unknown>((resolve, reject) => {
      const onAbort = () => {
        if (!this.pending.has(id)) return;
        this.finish(id);
        this.send({ method: 'cancel', params: [id], id: null }); // §4.1.4; the server then replies with error "canceled", ignored as unknown id
        reject(new OvsdbConnectionError(`${method}: aborted (cancel sent for request ${id})`));
      };
      const p: Pending = {
        method,
        resolve,
        reject,
        timer: opts.timeoutMs
          ? setTimeout(() => {
              this.finish(id);
              reject(new OvsdbConnectionError(`${method}: no reply within ${opts.timeoutMs} ms`));
            }, opts.timeoutMs)
          : undefined,
        cleanup: () => opts.signal?.removeEventListener('abort', onAbort),
      };
      this.pending.set(id, p);
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      this.send({ method, params, id });
    });
  }

  notify(method: string, params: unknown[]): void {
    if (this.closedWith === null) this.send({ method, params, id: null });
  }

  close(reason?: Error): void {
    this.shutdown(reason);
    this.socket.destroy();
  }

  private send(msg: unknown): void {
    this.socket.write(JSON.stringify(msg));
  }

  private finish(id: number): Pending | undefined {
    const p = this.pending.get(id);
    if (!p) return undefined;
    this.pending.delete(id);
    if (p.timer) clearTimeout(p.timer);
    p.cleanup();
    return p;
  }

  private shutdown(err: Error | undefined): void {
    if (this.closedWith !== null) return;
    this.closedWith = err;
    const why = err?.message ?? 'closed by the client';
    for (const id of [...this.pending.keys()]) {
      const p = this.finish(id)!;
      p.reject(new OvsdbConnectionError(`${p.method}: connection lost before the reply (${why})`));
    }
    this.socket.destroy();
    this.handlers.onClose(err);
  }

  private onData(chunk: Buffer): void {
    if (this.closedWith !== null) return;
    let texts: string[];
    try {
      texts = this.splitter.push(chunk);
    } catch (e) {
      const msg = e instanceof JsonStreamError ? e.message : String(e);
      this.close(new OvsdbProtocolError(`unreadable stream from the server: ${msg}`));
      return;
    }
    for (const text of texts) {
      if (this.closedWith !== null) return;
      let msg: unknown;
      try {
        msg = JSON.parse(text);
      } catch (e) {
        // Framing may still hold, but a peer sending non-JSON cannot be trusted with our pending replies.
        this.close(new OvsdbProtocolError(`the server sent invalid JSON (${(e as Error).message}): ${snippet(text)}`));
        return;
      }
      this.dispatch(msg, text);
    }
  }

  private dispatch(msg: unknown, text: string): void {
    if (!isObj(msg)) {
      this.handlers.onProtocolError(new OvsdbProtocolError(`a JSON-RPC message must be an object: ${snippet(text)}`));
      return;
    }
    if (typeof msg.method === 'string') {
      if (!Array.isArray(msg.params)) {
        this.handlers.onProtocolError(new OvsdbProtocolError(`"${msg.method}" from the server: "params" must be an array: ${snippet(text)}`));
        return;
      }
      if (msg.id === null || msg.id === undefined) {
        this.handlers.onNotification(msg.method, msg.params);
      } else if (msg.method === 'echo') {
        this.send({ result: msg.params, error: null, id: msg.id }); // §4.1.11
      } else {
        this.send({ result: null, error: 'unknown method', id: msg.id });
        this.handlers.onProtocolError(new OvsdbProtocolError(`the server sent request "${msg.method}", which a client does not serve`));
      }
      return;
    }
    if (!('id' in msg)) {
      this.handlers.onProtocolError(new OvsdbProtocolError(`message is neither a request nor a reply (no "method", no "id"): ${snippet(text)}`));
      return;
    }
    const p = typeof msg.id === 'number' ? this.finish(msg.id) : undefined;
    if (!p) {
      this.handlers.onProtocolError(new OvsdbProtocolError(`reply with id ${JSON.stringify(msg.id)} matches no outstanding request: ${snippet(text)}`));
      return;
    }
    if (!('result' in msg) || !('error' in msg)) {
      p.reject(new OvsdbProtocolError(`${p.method}: reply lacks ${'result' in msg ? '"error"' : '"result"'}: ${snippet(text)}`));
    } else if (msg.error !== null) {
      p.reject(new OvsdbRpcError(p.method, msg.error));
    } else {
      p.resolve(msg.result);
    }
  }
}
