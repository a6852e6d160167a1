// Reading raw Kubernetes objects of one metallb.io kind: envelope (apiVersion, kind, metadata)
// checks, the spec schema of the object's version, warnings for fields that would be pruned, and
// duplicate names.
import type { z } from 'zod';
import { objectNameProblem } from './kubernetesNames.js';
import { ConfigProblems, PARSE_OPTIONS, type ObjectRef } from './problems.js';
import { envelopeSchema, SPEC_SCHEMAS, STORAGE_VERSION, type MetallbKind } from './schemas.js';

/** An object whose envelope and spec passed their schemas. */
export interface ParsedObject<S> {
  readonly ref: ObjectRef;
  readonly namespace?: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly apiVersion: string;
  readonly spec: S;
}

type SpecOf<K extends MetallbKind> = z.output<(typeof SPEC_SCHEMAS)[K][keyof (typeof SPEC_SCHEMAS)[K]]>;

function rawName(raw: unknown): string | undefined {
  if (raw === null || typeof raw !== 'object') return undefined;
  const meta = (raw as { metadata?: unknown }).metadata;
  if (meta === null || typeof meta !== 'object') return undefined;
  const name = (meta as { name?: unknown }).name;
  return typeof name === 'string' && name !== '' ? name : undefined;
}

/**
 * Validates every object of one kind. Objects that fail are reported and left out; the others
 * are returned in input order. Names that occur twice are errors (the second one is reported).
 */
export function readObjects<K extends MetallbKind>(kind: K, raws: readonly unknown[], problems: ConfigProblems): ParsedObject<SpecOf<K>>[] {
  const out: ParsedObject<SpecOf<K>>[] = [];
  const firstIndexByName = new Map<string, number>();
  raws.forEach((raw, index) => {
    const name = rawName(raw) ?? `#${index}`;
    const ref: ObjectRef = { kind, name };
    const envelope = envelopeSchema.safeParse(raw, PARSE_OPTIONS);
    if (!envelope.success) {
      problems.schemaIssues(ref, [], envelope.error);
      return;
    }
    const env = envelope.data;
    let ok = true;
    if (env.kind !== undefined && env.kind !== kind) {
      problems.error(ref, 'kind', `object of kind "${env.kind}" was given where ${kind} objects are expected; pass it with its own kind`);
      ok = false;
    }
    const name0 = env.metadata?.name;
    if (name0 === undefined || name0 === '') {
      problems.error(ref, 'metadata.name', `missing name; set metadata.name`);
      ok = false;
    } else {
      const nameProblem = objectNameProblem(name0);
      if (nameProblem) {
        problems.error(ref, 'metadata.name', `${nameProblem}; rename the object`);
        ok = false;
      }
      const first = firstIndexByName.get(name0);
      if (first !== undefined) {
        problems.error(ref, 'metadata.name', `duplicate ${kind} name "${name0}" (objects #${first} and #${index}); give each ${kind} a unique name`);
        ok = false;
      } else {
        firstIndexByName.set(name0, index);
      }
    }
    const versions = SPEC_SCHEMAS[kind] as Readonly<Record<string, z.ZodObject>>;
    const apiVersion = env.apiVersion ?? STORAGE_VERSION[kind];
    const schema = versions[apiVersion];
    if (!schema) {
      problems.error(ref, 'apiVersion', `apiVersion "${apiVersion}" is not served for ${kind}; use ${Object.keys(versions).join(' or ')}`);
      return;
    }
    const rawSpec = env.spec ?? {};
    const spec = schema.safeParse(rawSpec, PARSE_OPTIONS);
    if (!spec.success) {
      problems.schemaIssues(ref, ['spec'], spec.error);
      return;
    }
    if (rawSpec !== null && typeof rawSpec === 'object' && !Array.isArray(rawSpec)) {
      for (const key of Object.keys(rawSpec)) {
        if (!(key in schema.shape)) {
          problems.warn(ref, `spec.${key}`, `unknown field "${key}" for ${kind} ${apiVersion} is ignored (the API server would prune it); check the spelling or remove it`);
        }
      }
    }
    if (!ok) return;
    out.push({
      ref: { kind, name: name0 as string },
      namespace: env.metadata?.namespace,
      labels: env.metadata?.labels ?? {},
      apiVersion,
      spec: spec.data as SpecOf<K>,
    });
  });
  return out;
}
