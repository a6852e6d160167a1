// MetalLB's Service annotations: the one table of names, and the reader that applies MetalLB's
// prefix rule (chart 0.14.9 moved from `metallb.universe.tf/` to `metallb.io/`; the old prefix is
// still read, but only when the new key is absent — a present-but-empty new key wins).

export const ANNOTATION_PREFIX = 'metallb.io/';
export const LEGACY_ANNOTATION_PREFIX = 'metallb.universe.tf/';

/** The annotations MetalLB reads or writes on a Service, by the name after the prefix. */
export const SERVICE_ANNOTATIONS = {
  /** Allocate from this pool (ignores autoAssign). Read. */
  addressPool: 'address-pool',
  /** "ip[,ip]": the exact IP(s) wanted. Read. */
  loadBalancerIPs: 'loadBalancerIPs',
  /** Sharing key; "" = no sharing. Read. */
  allowSharedIp: 'allow-shared-ip',
  /** The pool the current IPs came from. Written by the controller (new prefix only). */
  ipAllocatedFromPool: 'ip-allocated-from-pool',
} as const;

export type ServiceAnnotation = keyof typeof SERVICE_ANNOTATIONS;

type Annotations = Readonly<Record<string, string>> | undefined;

/** "metallb.io/<name>" */
export function annotationKey(name: ServiceAnnotation): string {
  return ANNOTATION_PREFIX + SERVICE_ANNOTATIONS[name];
}

/** "metallb.universe.tf/<name>" */
export function legacyAnnotationKey(name: ServiceAnnotation): string {
  return LEGACY_ANNOTATION_PREFIX + SERVICE_ANNOTATIONS[name];
}

export interface AnnotationRead {
  /** undefined when neither key is present. */
  readonly value: string | undefined;
  /** The key the value came from. */
  readonly key: string | undefined;
  readonly fromLegacyKey: boolean;
}

/** Reads one MetalLB annotation: the new key if present (even empty), else the legacy key. */
export function readAnnotation(annotations: Annotations, name: ServiceAnnotation): AnnotationRead {
  const own = (k: string): boolean => annotations !== undefined && Object.prototype.hasOwnProperty.call(annotations, k);
  const current = annotationKey(name);
  if (own(current)) return { value: annotations![current], key: current, fromLegacyKey: false };
  const legacy = legacyAnnotationKey(name);
  if (own(legacy)) return { value: annotations![legacy], key: legacy, fromLegacyKey: true };
  return { value: undefined, key: undefined, fromLegacyKey: false };
}

export interface MetallbAnnotations {
  readonly addressPool: AnnotationRead;
  readonly loadBalancerIPs: AnnotationRead;
  readonly allowSharedIp: AnnotationRead;
  readonly ipAllocatedFromPool: AnnotationRead;
  /** Legacy keys whose value was actually used (the new key was absent), sorted. */
  readonly legacyKeysUsed: readonly string[];
}

/** Reads every MetalLB annotation of a Service at once. */
export function readMetallbAnnotations(annotations: Annotations): MetallbAnnotations {
  const names = Object.keys(SERVICE_ANNOTATIONS) as ServiceAnnotation[];
  const reads = Object.fromEntries(names.map((n) => [n, readAnnotation(annotations, n)])) as Record<ServiceAnnotation, AnnotationRead>;
  const legacyKeysUsed = names
    .map((n) => reads[n])
    .filter((r) => r.fromLegacyKey && r.key !== undefined)
    .map((r) => r.key as string)
    .sort();
  return { ...reads, legacyKeysUsed };
}

/**
 * Every annotation key with the legacy prefix (sorted). MetalLB raises one `deprecatedAnnotation`
 * Warning per such key, whether or not the new key shadows it.
 */
export function legacyPrefixedKeys(annotations: Annotations): string[] {
  if (!annotations) return [];
  return Object.keys(annotations)
    .filter((k) => k.startsWith(LEGACY_ANNOTATION_PREFIX))
    .sort();
}

/** The new-prefix spelling of a legacy key ("metallb.universe.tf/x" -> "metallb.io/x"). */
export function currentSpellingOf(legacyKey: string): string {
  return legacyKey.startsWith(LEGACY_ANNOTATION_PREFIX)
    ? ANNOTATION_PREFIX + legacyKey.slice(LEGACY_ANNOTATION_PREFIX.length)
    : legacyKey;
}

/** The annotation the controller writes: the pool the current IPs came from. */
export const ANNOTATION_ALLOCATED_FROM_POOL = annotationKey('ipAllocatedFromPool');
/** Its legacy spelling, which MetalLB deletes whenever it writes the Service. */
export const LEGACY_ANNOTATION_ALLOCATED_FROM_POOL = legacyAnnotationKey('ipAllocatedFromPool');
