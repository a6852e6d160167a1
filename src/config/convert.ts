// ConfigResources <-> multi-document YAML, as `kubectl apply -f` takes it and `ironlb convert`
// prints it.
import { parseAllDocuments, stringify } from 'yaml';
import type { ConfigError } from './model.js';
import { emptyResources, type ConfigResources, type NodeInput, type SecretInput } from './resources.js';
import { STORAGE_VERSION, type MetallbKind } from './schemas.js';

/** Output order of MetalLB's configmaptocrs: peers, pools, BGP ads, L2 ads, BFD profiles, communities. */
const OUTPUT_ORDER: readonly { field: keyof Omit<ConfigResources, 'nodes' | 'secrets'>; kind: MetallbKind }[] = [
  { field: 'bgpPeers', kind: 'BGPPeer' },
  { field: 'pools', kind: 'IPAddressPool' },
  { field: 'bgpAdvertisements', kind: 'BGPAdvertisement' },
  { field: 'l2Advertisements', kind: 'L2Advertisement' },
  { field: 'bfdProfiles', kind: 'BFDProfile' },
  { field: 'communities', kind: 'Community' },
];

const KIND_FIELDS: ReadonlyMap<string, (typeof OUTPUT_ORDER)[number]['field']> = new Map(OUTPUT_ORDER.map((o) => [o.kind, o.field]));

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Keys sorted at every level (as Go's JSON->YAML output has them), list order kept. */
function sortedKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortedKeys);
  if (!isRecord(v)) return v;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(v).sort()) out[key] = sortedKeys(v[key]);
  return out;
}

/** What to print of an object: no status and no server-set metadata. */
function printable(raw: unknown, kind: MetallbKind): unknown {
  if (!isRecord(raw)) return raw;
  const meta = isRecord(raw.metadata) ? raw.metadata : {};
  const metadata: Record<string, unknown> = {};
  if (meta.name !== undefined) metadata.name = meta.name;
  if (meta.namespace !== undefined) metadata.namespace = meta.namespace;
  if (isRecord(meta.labels) && Object.keys(meta.labels).length > 0) metadata.labels = sortedKeys(meta.labels);
  if (isRecord(meta.annotations)) {
    const annotations = { ...meta.annotations };
    delete annotations['kubectl.kubernetes.io/last-applied-configuration'];
    if (Object.keys(annotations).length > 0) metadata.annotations = sortedKeys(annotations);
  }
  return {
    apiVersion: raw.apiVersion ?? STORAGE_VERSION[kind],
    kind: raw.kind ?? kind,
    metadata,
    spec: sortedKeys(raw.spec ?? {}),
  };
}

/** Multi-document YAML of the CRs (what `ironlb convert` prints), stable order per spec section 8. */
export function resourcesToYaml(resources: ConfigResources): string {
  const docs: string[] = [];
  for (const { field, kind } of OUTPUT_ORDER) {
    for (const raw of resources[field]) {
      // YAML 1.1 output quotes strings such as "64512:1" or "yes" that YAML 1.1 readers
      // (kubectl's) would otherwise take for numbers or booleans.
      docs.push(stringify(printable(raw, kind), { version: '1.1', lineWidth: 0 }));
    }
  }
  return docs.join('---\n');
}

export type YamlResourcesOutcome =
  | { ok: true; resources: ConfigResources; warnings: ConfigError[] }
  | { ok: false; errors: ConfigError[]; warnings: ConfigError[] };

/**
 * Reads multi-document YAML (e.g. `kubectl get -o yaml` output or manifests) into
 * ConfigResources: metallb.io kinds, plus Nodes and Secrets as context. `List` objects are
 * unpacked; other kinds are skipped with a warning.
 */
export function resourcesFromYaml(text: string): YamlResourcesOutcome {
  const resources = emptyResources();
  const errors: ConfigError[] = [];
  const warnings: ConfigError[] = [];
  const nodes: NodeInput[] = [];
  const secrets: SecretInput[] = [];

  const add = (obj: unknown, where: string) => {
    if (obj === null || obj === undefined) return;
    if (!isRecord(obj)) {
      errors.push({ kind: 'YAML', name: where, field: '(document)', message: 'expected a Kubernetes object (a mapping with apiVersion, kind, metadata); fix the document' });
      return;
    }
    const kind = typeof obj.kind === 'string' ? obj.kind : '';
    const meta = isRecord(obj.metadata) ? obj.metadata : {};
    const name = typeof meta.name === 'string' ? meta.name : '';
    const field = KIND_FIELDS.get(kind);
    if (field) resources[field].push(obj);
    else if (kind === 'List' && Array.isArray(obj.items)) obj.items.forEach((item, i) => add(item, `${where} items[${i}]`));
    else if (kind === 'Node') nodes.push({ name, labels: isRecord(meta.labels) ? (meta.labels as Record<string, string>) : {} });
    else if (kind === 'Secret') {
      secrets.push({
        name,
        namespace: typeof meta.namespace === 'string' ? meta.namespace : '',
        ...(typeof obj.type === 'string' ? { type: obj.type } : {}),
        ...(isRecord(obj.data) ? { data: obj.data as Record<string, string> } : {}),
      });
    } else if (kind === 'AddressPool') {
      errors.push({ kind, name, field: 'kind', message: 'AddressPool was removed in MetalLB v0.14; replace it with an IPAddressPool plus an L2Advertisement or BGPAdvertisement' });
    } else {
      warnings.push({ kind: kind || '(none)', name, field: 'kind', message: `kind "${kind}" is not part of the MetalLB configuration and is skipped; remove it from this input` });
    }
  };

  parseAllDocuments(text).forEach((doc, i) => {
    const where = `document ${i + 1}`;
    if (doc.errors.length > 0) {
      for (const e of doc.errors) {
        const pos = e.linePos?.[0];
        errors.push({ kind: 'YAML', name: where, field: pos ? `line ${pos.line}, column ${pos.col}` : '(document)', message: `invalid YAML: ${e.message.split('\n')[0]}; fix the syntax` });
      }
      return;
    }
    add(doc.toJS(), where);
  });
  if (nodes.length > 0) resources.nodes = nodes;
  if (secrets.length > 0) resources.secrets = secrets;
  if (errors.length > 0) return { ok: false, errors, warnings };
  return { ok: true, resources, warnings };
}
