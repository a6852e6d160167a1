// Collecting ConfigErrors (errors and warnings) while parsing, and turning zod issues into
// ConfigErrors whose messages say what is wrong and how to fix it.
import type { z } from 'zod';
import type { ConfigError } from './model.js';

/** Which object a problem belongs to. */
export interface ObjectRef {
  readonly kind: string;
  readonly name: string;
}

export class ConfigProblems {
  readonly errors: ConfigError[] = [];
  readonly warnings: ConfigError[] = [];

  error(ref: ObjectRef, field: string, message: string): void {
    this.errors.push({ kind: ref.kind, name: ref.name, field, message });
  }

  /** An error that may go away by itself (a referenced object that does not exist yet). */
  transientError(ref: ObjectRef, field: string, message: string): void {
    this.errors.push({ kind: ref.kind, name: ref.name, field, message, transient: true });
  }

  warn(ref: ObjectRef, field: string, message: string): void {
    this.warnings.push({ kind: ref.kind, name: ref.name, field, message });
  }

  /** Records every issue of a failed zod parse; paths are prefixed with `prefix` (e.g. ["spec"]). */
  schemaIssues(ref: ObjectRef, prefix: readonly PropertyKey[], error: z.ZodError): void {
    for (const issue of error.issues) {
      this.error(ref, formatFieldPath([...prefix, ...issue.path]), issue.message);
    }
  }
}

/** ["spec", "addresses", 1] -> "spec.addresses[1]"; keys that are not identifiers are quoted. */
export function formatFieldPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else {
      const key = String(seg);
      if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(key)) out += out === '' ? key : `.${key}`;
      else out += `[${JSON.stringify(key)}]`;
    }
  }
  return out === '' ? '(object)' : out;
}

function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return `the string ${JSON.stringify(v)}`;
  return `${typeof v} ${String(v)}`;
}

const EXPECTED_HINT: Readonly<Record<string, string>> = {
  string: 'a string (quote it in YAML if it looks like a number or boolean)',
  number: 'a number (without quotes)',
  int: 'a whole number (without quotes)',
  boolean: 'true or false (without quotes)',
  array: 'a YAML list',
  object: 'a YAML mapping',
  record: 'a YAML mapping of strings to strings',
};

/**
 * The zod error map used for every schema parse in src/config: generic issues get a message
 * with the offending value and a fix; issues raised by our own refinements keep their message.
 */
export function describeIssue(issue: z.core.$ZodRawIssue): string | undefined {
  const input: unknown = issue.input;
  switch (issue.code) {
    case 'invalid_type': {
      const expected = String(issue.expected);
      const hint = EXPECTED_HINT[expected] ?? expected;
      if (input === undefined) return `required field is missing; set it to ${hint}`;
      return `expected ${hint}, got ${describeValue(input)}`;
    }
    case 'too_small':
      if (issue.origin === 'array') return `must list at least ${String(issue.minimum)} entr${issue.minimum === 1 ? 'y' : 'ies'}; add one`;
      if (issue.origin === 'string') return 'must not be empty; set a value';
      return `value ${String(input)} is too small; use a value of at least ${String(issue.minimum)}`;
    case 'too_big':
      return `value ${String(input)} is too large; use a value of at most ${String(issue.maximum)}`;
    case 'invalid_value':
      return `invalid value ${JSON.stringify(input)}; use one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'unrecognized_keys':
      return `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}; check the spelling or remove ${issue.keys.length > 1 ? 'them' : 'it'}`;
    default:
      return undefined;
  }
}

/** Options to pass to every safeParse so messages are ours. */
export const PARSE_OPTIONS = { error: describeIssue } as const;
