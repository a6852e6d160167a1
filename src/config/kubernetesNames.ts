// Kubernetes syntax rules for object names, label keys and label values (apimachinery's
// validation rules, restated). Each check returns undefined when the text is fine, otherwise a
// sentence saying what is wrong; callers add which field it was.

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const QUALIFIED_NAME_PART = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;

/** Object names of the metallb.io kinds (metadata.name): a DNS-1123 subdomain. */
export function objectNameProblem(name: string): string | undefined {
  if (name === '') return 'must not be empty';
  if (name.length > 253) return `"${name}" is longer than 253 characters`;
  if (!DNS1123_SUBDOMAIN.test(name)) {
    return `"${name}" is not a valid object name: use lower-case letters, digits, "-" and ".", starting and ending with a letter or digit`;
  }
  return undefined;
}

/** A label key: optional DNS-1123 subdomain prefix and "/", then a name of at most 63 characters. */
export function labelKeyProblem(key: string): string | undefined {
  const slash = key.indexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined) {
    if (prefix === '' || prefix.length > 253 || !DNS1123_SUBDOMAIN.test(prefix)) {
      return `label key "${key}" has an invalid prefix "${prefix}": the part before "/" must be a lower-case DNS subdomain such as "example.com"`;
    }
  }
  if (name === '') return `label key "${key}" has an empty name part`;
  if (name.length > 63) return `label key "${key}" has a name part longer than 63 characters`;
  if (!QUALIFIED_NAME_PART.test(name)) {
    return `label key "${key}" is invalid: the name part may only contain letters, digits, "-", "_" and ".", and must start and end with a letter or digit`;
  }
  return undefined;
}

/** A label value: empty, or at most 63 characters of letters, digits, "-", "_", ".", alphanumeric at both ends. */
export function labelValueProblem(value: string): string | undefined {
  if (value === '') return undefined;
  if (value.length > 63) return `label value "${value}" is longer than 63 characters`;
  if (!QUALIFIED_NAME_PART.test(value)) {
    return `label value "${value}" is invalid: use letters, digits, "-", "_" and ".", starting and ending with a letter or digit`;
  }
  return undefined;
}

export function isDns1123Label(text: string): boolean {
  return text.length <= 63 && DNS1123_LABEL.test(text);
}

/**
 * The legacy-ConfigMap converter's renaming of names that are not already plain DNS labels
 * starting with a letter (MetalLB configmaptocrs since v0.13.11): lower-case, "_" -> "-",
 * truncate to 63, drop leading non-letters. We additionally drop trailing characters that are not
 * letters or digits so the result is always a valid object name when it is not empty.
 */
export function normalizeLegacyName(name: string): string {
  if (name.length <= 63 && DNS1035_LABEL.test(name)) return name;
  let out = name.toLowerCase().replaceAll('_', '-');
  out = out.slice(0, 63);
  out = out.replace(/^[^a-z]+/, '');
  out = out.replace(/[^a-z0-9]+$/, '');
  return out;
}
