// What a failed Kubernetes API call looked like: the HTTP code and the API server's message.
// Kept apart from the clients so the speaker can describe errors without loading client-node.

/** A non-2xx answer of the API server (src/k8s/rest.ts). `body` is the Status object when the server sent one. */
export class KubeApiError extends Error {
  constructor(readonly code: number, readonly body: unknown, method: string, path: string) {
    super(`HTTP ${code} from ${method} ${path}: ${statusMessage(body) ?? 'no message'}`);
    this.name = 'KubeApiError';
  }
}

function statusMessage(body: unknown): string | undefined {
  if (typeof body === 'string') {
    try {
      return (JSON.parse(body) as { message?: string }).message ?? body.slice(0, 300);
    } catch {
      return body.slice(0, 300);
    }
  }
  if (body && typeof body === 'object') return (body as { message?: string }).message;
  return undefined;
}

/** The HTTP status of a failed call, from our client (code), client-node's ApiException (code) or a watch (statusCode). */
export function apiStatusCode(err: unknown): number | undefined {
  const e = err as { code?: unknown; statusCode?: unknown } | null;
  if (e && typeof e.code === 'number') return e.code;
  if (e && typeof e.statusCode === 'number') return e.statusCode;
  return undefined;
}

/** A one-line description of a failed API call: the HTTP code and the API server's message. */
export function describeApiError(err: unknown): string {
  const code = apiStatusCode(err);
  const message = statusMessage((err as { body?: unknown } | null)?.body);
  if (code !== undefined) return `HTTP ${code}: ${message ?? 'no message'}`;
  return err instanceof Error ? err.message : String(err);
}
