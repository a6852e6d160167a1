// The validating admission decision (pure): an AdmissionReview request plus the configuration
// objects as they are now -> an AdmissionReview response. Like MetalLB's webhooks, the submitted
// object is merged into the current set (replaced by name, or appended) and the one parser runs
// on the result; a DELETE removes it. Differences from MetalLB, both so that a change is judged
// on its own merit:
//  - the whole would-be configuration is parsed (MetalLB parses a per-kind subset), but an error
//    only refuses the change when it names the submitted object or did not exist before it;
//  - references that may legitimately be created later (a peer's bfdProfile or passwordSecret,
//    a community alias) are the parser's transient errors: returned as warnings, never refusals
//    (MetalLB blanks those fields before validating).
// DELETE is only refused for a BFDProfile a BGPPeer still uses (MetalLB: deleting pools, peers
// and advertisements is never blocked).
import { parseConfig, type ConfigResources } from '../config/index.js';
import { formatConfigError, type ConfigError } from '../config/model.js';
import { CONFIG_KINDS, METALLB_GROUP } from '../k8s/configSource.js';

/** The configuration kinds the webhook judges, and where they live in ConfigResources. */
const KIND_FIELDS: ReadonlyMap<string, (typeof CONFIG_KINDS)[number]['field']> = new Map(CONFIG_KINDS.map((k) => [k.kind, k.field]));

/** The parts of admission.k8s.io/v1 AdmissionReview the decision reads. */
export interface AdmissionRequest {
  readonly uid: string;
  readonly kind: { readonly group: string; readonly version: string; readonly kind: string };
  readonly name?: string;
  readonly namespace?: string;
  readonly operation: 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';
  readonly object?: unknown;
  readonly oldObject?: unknown;
}

export interface AdmissionResponse {
  readonly uid: string;
  readonly allowed: boolean;
  readonly status?: { readonly code: number; readonly reason?: string; readonly message: string };
  readonly warnings?: string[];
}

export interface AdmissionReview<R> {
  readonly apiVersion: 'admission.k8s.io/v1';
  readonly kind: 'AdmissionReview';
  readonly request?: AdmissionRequest;
  readonly response?: R;
}

export interface AdmissionContext {
  /** The namespace ironlb reads its configuration from (--namespace). */
  readonly namespace: string;
  /** The configuration objects as they are now (the controller's caches). */
  readonly current: ConfigResources;
}

/** Warnings longer than this are cut: the API server truncates them anyway, and kubectl prints each on one line. */
const MAX_WARNING_LENGTH = 256;
const MAX_WARNINGS = 20;

function metaOf(obj: unknown): { name?: string; namespace?: string } {
  const m = (obj as { metadata?: { name?: unknown; namespace?: unknown } } | null)?.metadata;
  return { name: typeof m?.name === 'string' ? m.name : undefined, namespace: typeof m?.namespace === 'string' ? m.namespace : undefined };
}

function allow(uid: string, warnings: string[] = []): AdmissionResponse {
  const cut = warnings.slice(0, MAX_WARNINGS).map((w) => (w.length > MAX_WARNING_LENGTH ? `${w.slice(0, MAX_WARNING_LENGTH - 3)}...` : w));
  return { uid, allowed: true, ...(cut.length ? { warnings: cut } : {}) };
}

function deny(uid: string, messages: string[], warnings: string[] = []): AdmissionResponse {
  return {
    ...allow(uid, warnings),
    allowed: false,
    status: { code: 422, reason: 'Invalid', message: messages.join('; ') },
  };
}

const errorKey = (e: ConfigError) => formatConfigError(e);

/** The current list of one kind with `obj` (by name) replaced, appended, or removed (obj undefined). */
function withObject(list: readonly unknown[], name: string, obj: unknown): unknown[] {
  const out = list.filter((o) => metaOf(o).name !== name);
  if (obj !== undefined) out.push(obj);
  return out;
}

/** The decision for one request. Never throws: a malformed request is refused with the reason. */
export function reviewAdmission(request: AdmissionRequest, ctx: AdmissionContext): AdmissionResponse {
  const uid = request.uid;
  const kind = request.kind?.kind;
  const field = KIND_FIELDS.get(kind);
  if (request.kind?.group !== METALLB_GROUP || !field) {
    // Not ours to judge (a misconfigured webhook rule): do not stand in the way.
    return allow(uid, [`ironlb's webhook does not validate ${request.kind?.group}/${kind}; check the rules of the ValidatingWebhookConfiguration`]);
  }
  const target = request.operation === 'DELETE' ? request.oldObject : request.object;
  const name = request.name || metaOf(target).name || '';
  const namespace = request.namespace || metaOf(target).namespace || '';

  if (request.operation === 'DELETE') {
    if (kind === 'BFDProfile') {
      const users = ctx.current.bgpPeers
        .filter((p) => (p as { spec?: { bfdProfile?: unknown } } | null)?.spec?.bfdProfile === name)
        .map((p) => metaOf(p).name ?? '?')
        .sort();
      if (namespace === ctx.namespace && users.length) {
        return deny(uid, [`BFDProfile "${name}" is used by BGPPeer ${users.map((u) => `"${u}"`).join(', ')} (spec.bfdProfile); remove or change spec.bfdProfile of ${users.length === 1 ? 'that peer' : 'those peers'} first, then delete the profile`]);
      }
    }
    return allow(uid);
  }
  if (request.operation !== 'CREATE' && request.operation !== 'UPDATE') return allow(uid);
  if (target === undefined || target === null || typeof target !== 'object') {
    return deny(uid, [`${kind} "${name}": the request carries no object to validate; this is a bug of the caller`]);
  }
  if (namespace !== ctx.namespace) {
    // MetalLB refuses configuration outside its namespace: it would silently never be used.
    return deny(uid, [`${kind} "${name}": metadata.namespace: ironlb reads its configuration only from namespace "${ctx.namespace}", so this object in "${namespace}" would have no effect; create it in "${ctx.namespace}"`]);
  }

  const before = parseConfig(ctx.current);
  const after = parseConfig({ ...ctx.current, [field]: withObject(ctx.current[field], name, target) });
  const errorsBefore = new Set((before.ok ? [] : before.errors).map(errorKey));
  const isSubmitted = (e: ConfigError) => e.kind === kind && e.name === name;
  const afterErrors = after.ok ? [] : after.errors;
  const blocking = afterErrors.filter((e) => !e.transient && (isSubmitted(e) || !errorsBefore.has(errorKey(e))));
  const warnings = [
    ...afterErrors.filter((e) => e.transient && isSubmitted(e)).map(formatConfigError),
    ...after.warnings.filter(isSubmitted).map(formatConfigError),
  ];
  if (blocking.length) return deny(uid, blocking.map(formatConfigError), warnings);
  return allow(uid, warnings);
}

/** The AdmissionReview to send back for a decoded request body (any shape). */
export function admissionReviewResponse(body: unknown, ctx: AdmissionContext): AdmissionReview<AdmissionResponse> {
  const request = (body as { request?: AdmissionRequest } | null)?.request;
  if (!request || typeof request.uid !== 'string') {
    throw new Error('the body is not an admission.k8s.io/v1 AdmissionReview with a request');
  }
  return { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: reviewAdmission(request, ctx) };
}
