// Structural checks of manifests/: CRDs are structural and carry MetalLB's names, versions,
// defaults and ranges; RBAC grants exactly what the controller and speaker need; the one-file
// install is the build output. The API server itself validates these for real elsewhere.
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
// @ts-expect-error -- plain ESM build script without type declarations
import { buildNativeManifest, MANIFESTS_DIR, NATIVE_BUNDLE, nativeParts } from '../../manifests/build.mjs';
import { WEBHOOK_PATHS } from '../../src/webhook/server.js';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Obj = { [k: string]: Json };
type Schema = Obj;

const NAMESPACE = 'metallb-system';
const GROUP = 'metallb.io';

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
function obj(v: Json | undefined, what: string): Obj {
  if (!isObj(v)) throw new Error(`${what} is not an object`);
  return v;
}
function arr(v: Json | undefined, what: string): Json[] {
  if (!Array.isArray(v)) throw new Error(`${what} is not a list`);
  return v;
}

function readDocs(relPath: string): Obj[] {
  const text = readFileSync(join(MANIFESTS_DIR as string, relPath), 'utf8');
  return parseAllDocuments(text).map((d, i) => {
    expect(d.errors, `${relPath} document ${i}`).toEqual([]);
    expect(d.warnings, `${relPath} document ${i}`).toEqual([]);
    return obj(d.toJS() as Json, `${relPath} document ${i}`);
  });
}

const parts = nativeParts() as string[];
const allDocs = parts.flatMap((p) => readDocs(p).map((doc) => ({ part: p, doc })));
const crdFiles = readdirSync(join(MANIFESTS_DIR as string, 'crds')).filter((f) => f.endsWith('.yaml')).sort();
const crds = new Map<string, Obj>(); // by kind
for (const f of crdFiles) {
  const docs = readDocs(`crds/${f}`);
  const crd = docs[0];
  if (docs.length !== 1 || !crd) throw new Error(`crds/${f} must hold exactly one CRD`);
  crds.set(String(obj(obj(crd.spec, 'spec').names, 'names').kind), crd);
}

function crd(kind: string): Obj {
  const c = crds.get(kind);
  if (!c) throw new Error(`no CRD for ${kind}`);
  return c;
}
function versionOf(kind: string, version: string): Obj {
  const v = arr(obj(crd(kind).spec, 'spec').versions, 'versions').find((x) => isObj(x) && x.name === version);
  return obj(v, `${kind} ${version}`);
}
function rootSchema(kind: string, version: string): Schema {
  return obj(obj(versionOf(kind, version).schema, 'schema').openAPIV3Schema, 'openAPIV3Schema');
}
/** Schema node at a dotted path; "[]" steps into array items. */
function schemaAt(root: Schema, path: string): Schema {
  let node = root;
  for (const step of path.split('.')) {
    node = step === '[]' ? obj(node.items, `${path} items`) : obj(obj(node.properties, `${path} properties`)[step], `${path}: ${step}`);
  }
  return node;
}

// ---------------------------------------------------------------------------------------------
// A small structural-schema checker (apiextensions.k8s.io/v1 rules that apply to our schemas).

const SCHEMA_TYPES = new Set(['object', 'array', 'string', 'integer', 'number', 'boolean']);

/** Validates a value (a default) against a schema node; returns the problems. */
function valueProblems(schema: Schema, value: Json, path: string): string[] {
  const out: string[] = [];
  const t = schema.type;
  const typeOk =
    (t === 'object' && isObj(value)) ||
    (t === 'array' && Array.isArray(value)) ||
    (t === 'string' && typeof value === 'string') ||
    (t === 'integer' && typeof value === 'number' && Number.isInteger(value)) ||
    (t === 'number' && typeof value === 'number') ||
    (t === 'boolean' && typeof value === 'boolean');
  if (!typeOk) return [`${path}: ${JSON.stringify(value)} is not of type ${String(t)}`];
  if (Array.isArray(schema.enum) && !schema.enum.includes(value)) out.push(`${path}: ${JSON.stringify(value)} not in enum`);
  if (typeof value === 'number') {
    if (typeof schema.minimum === 'number' && value < schema.minimum) out.push(`${path}: ${value} < minimum ${schema.minimum}`);
    if (typeof schema.maximum === 'number' && value > schema.maximum) out.push(`${path}: ${value} > maximum ${schema.maximum}`);
  }
  if (Array.isArray(value)) {
    if (typeof schema.minItems === 'number' && value.length < schema.minItems) out.push(`${path}: fewer than minItems`);
    value.forEach((v, i) => out.push(...valueProblems(obj(schema.items, `${path} items`), v, `${path}[${i}]`)));
  }
  if (isObj(value)) {
    const props = isObj(schema.properties) ? schema.properties : {};
    for (const r of Array.isArray(schema.required) ? schema.required : []) {
      if (!(String(r) in value)) out.push(`${path}: missing required ${String(r)}`);
    }
    for (const [k, v] of Object.entries(value)) {
      const sub = props[k] ?? schema.additionalProperties;
      if (!isObj(sub)) out.push(`${path}.${k}: not declared (would be pruned)`);
      else out.push(...valueProblems(sub, v, `${path}.${k}`));
    }
  }
  return out;
}

/** Problems that make a schema non-structural or that the API server would reject. */
function structuralProblems(schema: Schema, path: string, underList = false): string[] {
  const out: string[] = [];
  const t = schema.type;
  if (typeof t !== 'string' || !SCHEMA_TYPES.has(t)) out.push(`${path}: missing or unknown type`);
  for (const k of ['$ref', 'allOf', 'anyOf', 'oneOf', 'not', 'definitions', 'dependencies', 'x-kubernetes-preserve-unknown-fields']) {
    if (k in schema) out.push(`${path}: uses ${k}`);
  }
  if ('properties' in schema && 'additionalProperties' in schema) out.push(`${path}: properties together with additionalProperties`);
  if (schema.additionalProperties === false) out.push(`${path}: additionalProperties: false`);
  if (('properties' in schema || 'additionalProperties' in schema || 'required' in schema) && t !== 'object') {
    out.push(`${path}: object keywords on type ${String(t)}`);
  }
  if (t === 'array' && !isObj(schema.items)) out.push(`${path}: array without a single items schema`);
  if (t !== 'array' && 'items' in schema) out.push(`${path}: items on type ${String(t)}`);
  if (Array.isArray(schema.required) && isObj(schema.properties)) {
    for (const r of schema.required) if (!(String(r) in schema.properties)) out.push(`${path}: required ${String(r)} is not a property`);
  }
  if (Array.isArray(schema.enum)) {
    for (const e of schema.enum) out.push(...valueProblems({ type: t ?? null }, e, `${path} enum`));
  }
  if ('default' in schema) {
    if (path.endsWith('.metadata')) out.push(`${path}: default on metadata`);
    out.push(...valueProblems(schema, schema.default ?? null, `${path} default`));
  }
  if (schema['x-kubernetes-list-type'] === 'map') {
    const keys = arr(schema['x-kubernetes-list-map-keys'], `${path} list-map-keys`);
    const req = arr(obj(schema.items, `${path} items`).required ?? [], `${path} items.required`);
    for (const k of keys) if (!req.includes(k)) out.push(`${path}: list-map key ${String(k)} is not required`);
  }
  for (const v of Array.isArray(schema['x-kubernetes-validations']) ? schema['x-kubernetes-validations'] : []) {
    const rule = obj(v, `${path} validation`);
    if (typeof rule.rule !== 'string' || !rule.rule) out.push(`${path}: CEL rule without text`);
    if (typeof rule.message !== 'string' || !rule.message) out.push(`${path}: CEL rule without message`);
    // Transition rules need a correlatable path: not inside atomic/set lists.
    if (typeof rule.rule === 'string' && rule.rule.includes('oldSelf') && underList) out.push(`${path}: oldSelf inside a list`);
  }
  if (isObj(schema.properties)) {
    for (const [k, sub] of Object.entries(schema.properties)) out.push(...structuralProblems(obj(sub, `${path}.${k}`), `${path}.${k}`, underList));
  }
  if (isObj(schema.additionalProperties)) out.push(...structuralProblems(schema.additionalProperties, `${path}.*`, underList));
  if (isObj(schema.items)) {
    const mapList = schema['x-kubernetes-list-type'] === 'map';
    out.push(...structuralProblems(schema.items, `${path}[]`, underList || !mapList));
  }
  return out;
}

function rootProblems(root: Schema, where: string): string[] {
  const out = structuralProblems(root, where);
  if (root.type !== 'object') out.push(`${where}: root is not an object`);
  const props = obj(root.properties, `${where} properties`);
  for (const k of ['apiVersion', 'kind']) if (obj(props[k], k).type !== 'string') out.push(`${where}: ${k} is not a string`);
  const meta = obj(props.metadata, 'metadata');
  if (Object.keys(meta).some((k) => k !== 'type')) out.push(`${where}: metadata may only declare its type`);
  return out;
}

// ---------------------------------------------------------------------------------------------

const EXPECTED_CRDS: Record<string, { plural: string; versions: string[]; storage: string; status: boolean }> = {
  IPAddressPool: { plural: 'ipaddresspools', versions: ['v1beta1'], storage: 'v1beta1', status: true },
  L2Advertisement: { plural: 'l2advertisements', versions: ['v1beta1'], storage: 'v1beta1', status: false },
  BGPAdvertisement: { plural: 'bgpadvertisements', versions: ['v1beta1'], storage: 'v1beta1', status: false },
  BGPPeer: { plural: 'bgppeers', versions: ['v1beta1', 'v1beta2'], storage: 'v1beta2', status: false },
  BFDProfile: { plural: 'bfdprofiles', versions: ['v1beta1'], storage: 'v1beta1', status: false },
  Community: { plural: 'communities', versions: ['v1beta1'], storage: 'v1beta1', status: false },
  ServiceL2Status: { plural: 'servicel2statuses', versions: ['v1beta1'], storage: 'v1beta1', status: true },
  ServiceBGPStatus: { plural: 'servicebgpstatuses', versions: ['v1beta1'], storage: 'v1beta1', status: true },
  ConfigurationState: { plural: 'configurationstates', versions: ['v1beta1'], storage: 'v1beta1', status: true },
};

function eachVersion(): [string, string][] {
  return Object.entries(EXPECTED_CRDS).flatMap(([kind, e]) => e.versions.map((v): [string, string] => [kind, v]));
}

describe('CRDs', () => {
  it('has one CRD file per MetalLB kind, named <plural>.<group>', () => {
    expect([...crds.keys()].sort()).toEqual(Object.keys(EXPECTED_CRDS).sort());
    expect(crdFiles).toEqual(Object.values(EXPECTED_CRDS).map((e) => `${e.plural}.${GROUP}.yaml`).sort());
    for (const [kind, e] of Object.entries(EXPECTED_CRDS)) {
      const c = crd(kind);
      const spec = obj(c.spec, 'spec');
      const names = obj(spec.names, 'names');
      expect(c.apiVersion).toBe('apiextensions.k8s.io/v1');
      expect(c.kind).toBe('CustomResourceDefinition');
      expect(obj(c.metadata, 'metadata').name).toBe(`${e.plural}.${GROUP}`);
      expect(spec.group).toBe(GROUP);
      expect(spec.scope).toBe('Namespaced');
      expect(names.plural).toBe(e.plural);
      expect(names.singular).toBe(kind.toLowerCase());
      expect(names.listKind).toBe(`${kind}List`);
    }
  });

  it.each(Object.entries(EXPECTED_CRDS))('%s has the expected versions and exactly one storage version', (kind, e) => {
    const versions = arr(obj(crd(kind).spec, 'spec').versions, 'versions').map((v) => obj(v, 'version'));
    expect(versions.map((v) => v.name)).toEqual(e.versions);
    expect(versions.every((v) => v.served === true)).toBe(true);
    expect(versions.filter((v) => v.storage === true).map((v) => v.name)).toEqual([e.storage]);
    for (const v of versions) {
      const sub = v.subresources;
      expect(isObj(sub) && isObj(sub.status), `${kind} ${String(v.name)} status subresource`).toBe(e.status);
    }
  });

  it('BGPPeer uses conversion None (no conversion webhook yet)', () => {
    expect(obj(crd('BGPPeer').spec, 'spec').conversion).toEqual({ strategy: 'None' });
  });

  it.each(eachVersion())('%s %s has a structural schema', (kind, version) => {
    expect(rootProblems(rootSchema(kind, version), `${kind}/${version}`)).toEqual([]);
  });

  it('the structural checker catches what the API server rejects', () => {
    const bad: Schema = {
      type: 'object',
      properties: {
        apiVersion: { type: 'string' },
        kind: { type: 'string' },
        metadata: { type: 'object', properties: { name: { type: 'string' } } },
        spec: {
          type: 'object',
          properties: {
            untyped: { description: 'no type' },
            both: { type: 'object', properties: { a: { type: 'string' } }, additionalProperties: { type: 'string' } },
            port: { type: 'integer', minimum: 1, default: 0 },
            list: { type: 'array' },
            conds: { type: 'array', 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['type'], items: { type: 'object', properties: { type: { type: 'string' } } } },
            items: { type: 'array', items: { type: 'object', properties: { f: { type: 'string', 'x-kubernetes-validations': [{ rule: 'self == oldSelf', message: 'm' }] } } } },
          },
        },
      },
    };
    const problems = rootProblems(bad, 'bad').join('\n');
    for (const expected of [
      'metadata may only declare its type',
      'spec.untyped: missing or unknown type',
      'spec.both: properties together with additionalProperties',
      'spec.port default: 0 < minimum 1',
      'spec.list: array without a single items schema',
      'spec.conds: list-map key type is not required',
      'spec.items[].f: oldSelf inside a list',
    ]) {
      expect(problems).toContain(expected);
    }
  });

  it('defaults and ranges are those of MetalLB', () => {
    const pool = rootSchema('IPAddressPool', 'v1beta1');
    expect(schemaAt(pool, 'spec.autoAssign')).toMatchObject({ type: 'boolean', default: true });
    expect(schemaAt(pool, 'spec.avoidBuggyIPs')).toMatchObject({ type: 'boolean', default: false });
    expect(pool.required).toEqual(['spec']);
    expect(schemaAt(pool, 'spec').required).toEqual(['addresses']);
    expect(schemaAt(pool, 'spec.addresses')).toMatchObject({ type: 'array', minItems: 1, items: { type: 'string' } });
    expect(schemaAt(pool, 'spec.serviceAllocation.priority').type).toBe('integer');

    const ad = rootSchema('BGPAdvertisement', 'v1beta1');
    expect(schemaAt(ad, 'spec.aggregationLength')).toMatchObject({ type: 'integer', default: 32, minimum: 1 });
    expect(schemaAt(ad, 'spec.aggregationLengthV6')).toMatchObject({ type: 'integer', default: 128 });

    const v2 = rootSchema('BGPPeer', 'v1beta2');
    expect(schemaAt(v2, 'spec.peerPort')).toMatchObject({ type: 'integer', default: 179, minimum: 1, maximum: 16384 });
    expect(schemaAt(v2, 'spec.dynamicASN')).toMatchObject({ type: 'string', enum: ['internal', 'external'] });
    expect(schemaAt(v2, 'spec.myASN')).toMatchObject({ type: 'integer', minimum: 0, maximum: 4294967295 });
    expect(schemaAt(v2, 'spec.localASN')).toMatchObject({ type: 'integer', minimum: 1, maximum: 4294967295 });
    expect(schemaAt(v2, 'spec').required).toEqual(['myASN']);
    for (const d of ['holdTime', 'keepaliveTime', 'connectTime']) expect(schemaAt(v2, `spec.${d}`).type).toBe('string');
    const v1 = rootSchema('BGPPeer', 'v1beta1');
    expect(schemaAt(v1, 'spec.peerPort')).toMatchObject({ type: 'integer', minimum: 0, maximum: 16384 });
    expect(schemaAt(v1, 'spec').required).toEqual(['myASN', 'peerASN', 'peerAddress']);
    expect(schemaAt(v1, 'spec.nodeSelectors.[].matchExpressions.[].values').minItems).toBe(1);

    const bfd = rootSchema('BFDProfile', 'v1beta1');
    const ranges: Record<string, [number, number]> = {
      receiveInterval: [10, 60000],
      transmitInterval: [10, 60000],
      echoInterval: [10, 60000],
      detectMultiplier: [2, 255],
      minimumTtl: [1, 254],
    };
    for (const [f, [min, max]] of Object.entries(ranges)) {
      expect(schemaAt(bfd, `spec.${f}`), f).toMatchObject({ type: 'integer', minimum: min, maximum: max });
    }
    expect(schemaAt(bfd, 'spec.echoMode').type).toBe('boolean');
    expect(schemaAt(bfd, 'spec.passiveMode').type).toBe('boolean');

    const l2 = rootSchema('L2Advertisement', 'v1beta1');
    expect(schemaAt(l2, 'spec.preferredNodeSelectors.[].weight')).toMatchObject({ minimum: 1, maximum: 100 });
  });

  it('IPAddressPool status holds the four int64 counters', () => {
    const status = schemaAt(rootSchema('IPAddressPool', 'v1beta1'), 'status');
    const counters = ['assignedIPv4', 'assignedIPv6', 'availableIPv4', 'availableIPv6'];
    expect(status.required).toEqual(counters);
    for (const c of counters) expect(schemaAt(status, c)).toMatchObject({ type: 'integer', format: 'int64' });
  });

  it('every label selector field has the metav1.LabelSelector shape', () => {
    const selectorPaths: [string, string, string][] = [
      ['IPAddressPool', 'v1beta1', 'spec.serviceAllocation.namespaceSelectors.[]'],
      ['IPAddressPool', 'v1beta1', 'spec.serviceAllocation.serviceSelectors.[]'],
      ['L2Advertisement', 'v1beta1', 'spec.ipAddressPoolSelectors.[]'],
      ['L2Advertisement', 'v1beta1', 'spec.nodeSelectors.[]'],
      ['L2Advertisement', 'v1beta1', 'spec.serviceSelectors.[]'],
      ['L2Advertisement', 'v1beta1', 'spec.preferredNodeSelectors.[].preference'],
      ['BGPAdvertisement', 'v1beta1', 'spec.ipAddressPoolSelectors.[]'],
      ['BGPAdvertisement', 'v1beta1', 'spec.nodeSelectors.[]'],
      ['BGPAdvertisement', 'v1beta1', 'spec.serviceSelectors.[]'],
      ['BGPPeer', 'v1beta1', 'spec.nodeSelectors.[]'],
      ['BGPPeer', 'v1beta2', 'spec.nodeSelectors.[]'],
    ];
    for (const [kind, version, path] of selectorPaths) {
      const sel = schemaAt(rootSchema(kind, version), path);
      const where = `${kind}/${version} ${path}`;
      expect(sel.type, where).toBe('object');
      expect(schemaAt(sel, 'matchLabels'), where).toMatchObject({ type: 'object', additionalProperties: { type: 'string' } });
      const req = schemaAt(sel, 'matchExpressions.[]');
      expect(req.required, where).toEqual(expect.arrayContaining(['key', 'operator']));
      expect(schemaAt(req, 'key').type, where).toBe('string');
      expect(schemaAt(req, 'operator').enum, where).toEqual(['In', 'NotIn', 'Exists', 'DoesNotExist']);
      expect(schemaAt(req, 'values'), where).toMatchObject({ type: 'array', items: { type: 'string' } });
    }
  });

  it('BGPPeer v1beta1 declares every v1beta2 field with the same type, so v1beta1 updates do not prune them', () => {
    const v1 = obj(schemaAt(rootSchema('BGPPeer', 'v1beta1'), 'spec').properties, 'v1beta1 spec');
    const v2 = obj(schemaAt(rootSchema('BGPPeer', 'v1beta2'), 'spec').properties, 'v1beta2 spec');
    for (const [field, s] of Object.entries(v2)) {
      expect(v1[field], field).toBeDefined();
      expect(obj(v1[field], field).type, field).toBe(obj(s, field).type);
    }
  });

  it('has the CEL rules MetalLB has', () => {
    const rulesAt = (kind: string, version: string, path: string) =>
      arr(schemaAt(rootSchema(kind, version), path)['x-kubernetes-validations'] ?? [], path).map((r) => String(obj(r, path).rule));
    for (const kind of ['ServiceL2Status', 'ServiceBGPStatus']) {
      for (const f of ['node', 'serviceName', 'serviceNamespace']) expect(rulesAt(kind, 'v1beta1', `status.${f}`)).toEqual(['self == oldSelf']);
    }
    for (const version of ['v1beta1', 'v1beta2']) {
      expect(rulesAt('BGPPeer', version, 'spec.enableGracefulRestart')).toEqual(['self == oldSelf']);
      expect(rulesAt('BGPPeer', version, 'spec.connectTime').join(' ')).toMatch(/65535s.*getMilliseconds\(\) % 1000 == 0/);
    }
    const adRule = rulesAt('BGPAdvertisement', 'v1beta1', 'spec').join(' ');
    expect(adRule).toContain('serviceSelectors');
    expect(adRule).toContain('self.aggregationLength == 32');
    expect(adRule).toContain('self.aggregationLengthV6 == 128');
  });

  it('printer columns point at declared fields with matching types', () => {
    const typeOfColumn = (s: Schema) => (s.type === 'array' || s.type === 'object' ? 'string' : s.type);
    for (const [kind, version] of eachVersion()) {
      const cols = arr(versionOf(kind, version).additionalPrinterColumns ?? [], 'columns').map((c) => obj(c, 'column'));
      for (const c of cols) {
        const jsonPath = String(c.jsonPath);
        if (jsonPath.startsWith('.metadata.')) continue;
        const field = schemaAt(rootSchema(kind, version), jsonPath.slice(1));
        expect(c.type, `${kind} ${jsonPath}`).toBe(typeOfColumn(field));
      }
    }
    const names = (kind: string) =>
      arr(versionOf(kind, 'v1beta1').additionalPrinterColumns ?? [], 'columns').map((c) => obj(c, 'column').name);
    expect(names('IPAddressPool')).toEqual(['Auto Assign', 'Avoid Buggy IPs', 'Addresses']);
    expect(names('ServiceL2Status')).toEqual(['Node', 'Service Name', 'Service Namespace']);
    expect(names('ServiceBGPStatus')).toEqual(['Node', 'Service Name', 'Service Namespace']);
  });
});

// ---------------------------------------------------------------------------------------------

type Scope = 'cluster' | typeof NAMESPACE | 'kube-system';
interface NeededRule {
  readonly group: string;
  readonly resource: string;
  readonly verbs: readonly string[];
  /** Where the permission must hold: every namespace, or only metallb-system. */
  readonly scope: Scope;
}
const CONFIG_KINDS = ['ipaddresspools', 'l2advertisements', 'bgpadvertisements', 'bgppeers', 'bfdprofiles', 'communities'];
const READ = ['get', 'list', 'watch'];
const EVENTS: NeededRule[] = [
  { group: '', resource: 'events', verbs: ['create', 'patch'], scope: 'cluster' },
  { group: 'events.k8s.io', resource: 'events', verbs: ['create', 'patch'], scope: 'cluster' },
];
const CONFIG_READ: NeededRule[] = CONFIG_KINDS.map((resource) => ({ group: GROUP, resource, verbs: READ, scope: NAMESPACE }));
const CONFIGURATION_STATE: NeededRule[] = [
  { group: GROUP, resource: 'configurationstates', verbs: ['get', 'list', 'watch', 'create', 'update', 'patch'], scope: NAMESPACE },
  { group: GROUP, resource: 'configurationstates/status', verbs: ['get', 'update', 'patch'], scope: NAMESPACE },
];

/** What each component does against the API, and therefore needs. Anything granted beyond this fails the test. */
const NEEDED: Record<'controller' | 'speaker', NeededRule[]> = {
  controller: [
    { group: '', resource: 'services', verbs: READ, scope: 'cluster' }, // every LoadBalancer Service
    { group: '', resource: 'services', verbs: ['patch'], scope: 'cluster' }, // ip-allocated-from-pool annotation
    { group: '', resource: 'services/status', verbs: ['update', 'patch'], scope: 'cluster' }, // status.loadBalancer.ingress
    { group: '', resource: 'namespaces', verbs: READ, scope: 'cluster' }, // serviceAllocation.namespaceSelectors
    { group: '', resource: 'nodes', verbs: ['list', 'watch'], scope: 'cluster' }, // node selectors in the config
    ...EVENTS, // IPAllocated, AllocationFailed, ClearAssignment, config errors
    ...CONFIG_READ,
    { group: GROUP, resource: 'ipaddresspools/status', verbs: ['get', 'update', 'patch'], scope: NAMESPACE }, // counters
    ...CONFIGURATION_STATE, // "controller"
    { group: '', resource: 'secrets', verbs: ['create', 'get', 'list', 'watch', 'update'], scope: NAMESPACE }, // memberlist key
    { group: '', resource: 'configmaps', verbs: READ, scope: NAMESPACE }, // legacy ConfigMap "config"
    { group: 'apps', resource: 'deployments', verbs: ['get'], scope: NAMESPACE }, // owner of the memberlist Secret
    { group: 'admissionregistration.k8s.io', resource: 'validatingwebhookconfigurations', verbs: ['get', 'patch'], scope: 'cluster' }, // caBundle
    { group: 'coordination.k8s.io', resource: 'leases', verbs: ['get', 'create', 'update'], scope: NAMESPACE }, // leader election
    ...['subnets', 'vlans', 'provider-networks', 'ips'].map((resource): NeededRule => ({ group: 'kubeovn.io', resource, verbs: READ, scope: 'cluster' })), // underlay checks
    { group: 'apps', resource: 'deployments', verbs: READ, scope: 'kube-system' }, // kube-ovn-controller flags (U6)
  ],
  speaker: [
    { group: '', resource: 'services', verbs: READ, scope: 'cluster' },
    { group: 'discovery.k8s.io', resource: 'endpointslices', verbs: READ, scope: 'cluster' }, // serving endpoints per node
    { group: '', resource: 'nodes', verbs: READ, scope: 'cluster' }, // election candidates, node selectors
    ...EVENTS, // nodeAssigned, announceFailed
    ...CONFIG_READ,
    ...['servicel2statuses', 'servicebgpstatuses'].flatMap((r): NeededRule[] => [
      { group: GROUP, resource: r, verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'], scope: NAMESPACE },
      { group: GROUP, resource: `${r}/status`, verbs: ['get', 'update', 'patch'], scope: NAMESPACE },
    ]),
    ...['subnets', 'vlans', 'provider-networks'].map((resource): NeededRule => ({ group: 'kubeovn.io', resource, verbs: READ, scope: 'cluster' })), // underlay VIPs and their VLAN
    { group: GROUP, resource: 'configurationstates', verbs: ['get', 'create', 'update', 'patch'], scope: NAMESPACE }, // "speaker-<node>"
    { group: GROUP, resource: 'configurationstates/status', verbs: ['get', 'update', 'patch'], scope: NAMESPACE },
    { group: '', resource: 'secrets', verbs: READ, scope: NAMESPACE }, // BGP passwordSecret
    { group: '', resource: 'configmaps', verbs: READ, scope: NAMESPACE }, // legacy ConfigMap "config"
  ],
};

interface Grant {
  group: string;
  resource: string;
  verb: string;
  scope: Scope;
}

/** Every (group, resource, verb, scope) granted to a service account of metallb-system by rbac.yaml. */
function grantsFor(serviceAccount: string, docs: Obj[]): Grant[] {
  const roles = new Map<string, Obj>();
  for (const d of docs) if (d.kind === 'ClusterRole' || d.kind === 'Role') roles.set(`${d.kind}/${String(obj(d.metadata, 'metadata').name)}`, d);
  const grants: Grant[] = [];
  for (const b of docs.filter((d) => d.kind === 'ClusterRoleBinding' || d.kind === 'RoleBinding')) {
    const bound = arr(b.subjects, 'subjects').some((s) => {
      const subj = obj(s, 'subject');
      return subj.kind === 'ServiceAccount' && subj.name === serviceAccount && subj.namespace === NAMESPACE;
    });
    if (!bound) continue;
    const ref = obj(b.roleRef, 'roleRef');
    const role = roles.get(`${String(ref.kind)}/${String(ref.name)}`);
    if (!role) throw new Error(`${String(b.kind)} ${String(obj(b.metadata, 'metadata').name)} refers to a missing ${String(ref.kind)} ${String(ref.name)}`);
    if (b.kind === 'RoleBinding' && role.kind === 'Role') {
      expect(obj(role.metadata, 'metadata').namespace).toBe(obj(b.metadata, 'metadata').namespace);
    }
    const scope: Scope = b.kind === 'ClusterRoleBinding' ? 'cluster' : (String(obj(b.metadata, 'metadata').namespace) as Scope);
    for (const r of arr(role.rules, 'rules').map((x) => obj(x, 'rule'))) {
      expect(r.resourceNames, 'rules are not limited by name').toBeUndefined();
      for (const group of arr(r.apiGroups, 'apiGroups')) {
        for (const resource of arr(r.resources, 'resources')) {
          for (const verb of arr(r.verbs, 'verbs')) grants.push({ group: String(group), resource: String(resource), verb: String(verb), scope });
        }
      }
    }
  }
  return grants;
}

function missingRules(needed: readonly NeededRule[], grants: readonly Grant[]): string[] {
  const missing: string[] = [];
  for (const n of needed) {
    for (const verb of n.verbs) {
      const ok = grants.some(
        (g) => g.group === n.group && g.resource === n.resource && g.verb === verb && (g.scope === 'cluster' || g.scope === n.scope),
      );
      if (!ok) missing.push(`${n.group || 'core'} ${n.resource} ${verb} (${n.scope})`);
    }
  }
  return missing;
}

function extraGrants(needed: readonly NeededRule[], grants: readonly Grant[]): string[] {
  return grants
    .filter((g) => !needed.some((n) => n.group === g.group && n.resource === g.resource && n.verbs.includes(g.verb)))
    .map((g) => `${g.group || 'core'} ${g.resource} ${g.verb} (${g.scope})`);
}

describe('RBAC', () => {
  const rbac = readDocs('rbac.yaml');

  it('defines the service accounts, roles and bindings MetalLB users know', () => {
    const names = rbac.map((d) => `${String(d.kind)}/${String(obj(d.metadata, 'metadata').name)}`).sort();
    expect(names).toEqual(
      [
        'ServiceAccount/controller',
        'ServiceAccount/speaker',
        'ClusterRole/metallb-system:controller',
        'ClusterRole/metallb-system:speaker',
        'Role/controller',
        'Role/pod-lister',
        'ClusterRoleBinding/metallb-system:controller',
        'ClusterRoleBinding/metallb-system:speaker',
        'RoleBinding/controller',
        'RoleBinding/pod-lister',
        'Role/metallb-system:controller-kube-ovn',
        'RoleBinding/metallb-system:controller-kube-ovn',
      ].sort(),
    );
    for (const d of rbac.filter((x) => ['ServiceAccount', 'Role', 'RoleBinding'].includes(String(x.kind)))) {
      // The one exception: reading the kube-ovn-controller Deployment in kube-system (U6).
      const expected = String(obj(d.metadata, 'metadata').name).endsWith(':controller-kube-ovn') ? 'kube-system' : NAMESPACE;
      expect(obj(d.metadata, 'metadata').namespace).toBe(expected);
    }
  });

  it('uses no wildcards', () => {
    for (const role of rbac.filter((d) => d.kind === 'ClusterRole' || d.kind === 'Role')) {
      for (const r of arr(role.rules, 'rules').map((x) => obj(x, 'rule'))) {
        for (const key of ['apiGroups', 'resources', 'verbs']) expect(arr(r[key], key)).not.toContain('*');
      }
    }
  });

  it.each(['controller', 'speaker'] as const)('grants the %s everything it needs and nothing else', (sa) => {
    const grants = grantsFor(sa, rbac);
    expect(missingRules(NEEDED[sa], grants)).toEqual([]);
    expect(extraGrants(NEEDED[sa], grants)).toEqual([]);
  });

  it('the RBAC check notices a missing or an extra permission', () => {
    const trimmed = rbac.map((d) =>
      d.kind === 'ClusterRole' && obj(d.metadata, 'metadata').name === 'metallb-system:controller'
        ? { ...d, rules: arr(d.rules, 'rules').filter((r) => !arr(obj(r, 'rule').resources, 'resources').includes('services/status')) }
        : d,
    );
    expect(missingRules(NEEDED.controller, grantsFor('controller', trimmed))).toEqual([
      'core services/status update (cluster)',
      'core services/status patch (cluster)',
    ]);
    const widened = rbac.map((d) =>
      d.kind === 'Role' && obj(d.metadata, 'metadata').name === 'pod-lister'
        ? { ...d, rules: [...arr(d.rules, 'rules'), { apiGroups: [''], resources: ['secrets'], verbs: ['delete'] }] }
        : d,
    );
    expect(extraGrants(NEEDED.speaker, grantsFor('speaker', widened))).toEqual(['core secrets delete (metallb-system)']);
  });
});

// ---------------------------------------------------------------------------------------------

function workload(kind: string): Obj {
  const found = allDocs.find(({ doc }) => doc.kind === kind);
  if (!found) throw new Error(`no ${kind}`);
  return found.doc;
}
function podSpec(w: Obj): Obj {
  return obj(obj(obj(w.spec, 'spec').template, 'template').spec, 'pod spec');
}
function onlyContainer(w: Obj): Obj {
  const cs = arr(podSpec(w).containers, 'containers');
  expect(cs).toHaveLength(1);
  return obj(cs[0], 'container');
}

describe('workloads', () => {
  it('the namespace allows privileged pods', () => {
    const ns = workload('Namespace');
    expect(obj(ns.metadata, 'metadata')).toMatchObject({
      name: NAMESPACE,
      labels: {
        'pod-security.kubernetes.io/enforce': 'privileged',
        'pod-security.kubernetes.io/audit': 'privileged',
        'pod-security.kubernetes.io/warn': 'privileged',
      },
    });
  });

  it.each(['Deployment', 'DaemonSet'])('%s selects its own pods and runs as its service account', (kind) => {
    const w = workload(kind);
    expect(obj(w.metadata, 'metadata').namespace).toBe(NAMESPACE);
    const selector = obj(obj(w.spec, 'spec').selector, 'selector').matchLabels;
    const podLabels = obj(obj(obj(obj(w.spec, 'spec').template, 'template').metadata, 'metadata').labels, 'labels');
    expect(podLabels).toMatchObject(obj(selector, 'matchLabels'));
    const sa = podSpec(w).serviceAccountName;
    expect(allDocs.some(({ doc }) => doc.kind === 'ServiceAccount' && obj(doc.metadata, 'metadata').name === sa)).toBe(true);
  });

  it('the controller is one unprivileged replica with leader election and the webhook', () => {
    const d = workload('Deployment');
    expect(obj(d.metadata, 'metadata').name).toBe('controller');
    expect(obj(d.spec, 'spec').replicas).toBe(1);
    const pod = podSpec(d);
    expect(pod.hostNetwork).toBeUndefined();
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 65534 });
    const c = onlyContainer(d);
    expect(c.image).toBe('ghcr.io/ironlb/ironlb:0.1.0');
    // metrics + probes reachable from the kubelet; webhook on 9443; leader election so 2 replicas are safe
    expect(c.args).toEqual(['controller', '--metrics-host=0.0.0.0', '--webhook-port=9443', '--leader-elect']);
    expect(arr(c.env, 'env')).toContainEqual({ name: 'METALLB_POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } });
    expect(c.securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
    expect(obj(c.securityContext, 'securityContext').capabilities).not.toHaveProperty('add');
    expect(c.ports).toEqual([
      { name: 'monitoring', containerPort: 7472, protocol: 'TCP' },
      { name: 'webhook', containerPort: 9443, protocol: 'TCP' },
    ]);
  });

  it('both workloads probe /healthz (liveness) and /readyz (readiness) on the metrics port', () => {
    for (const kind of ['Deployment', 'DaemonSet']) {
      const c = onlyContainer(workload(kind));
      const named = arr(c.ports, 'ports').map((p) => obj(p, 'port')).find((p) => p.name === 'monitoring');
      expect(named?.containerPort, kind).toBe(7472);
      expect(obj(obj(c.livenessProbe, `${kind} livenessProbe`).httpGet, 'httpGet')).toEqual({ path: '/healthz', port: 'monitoring' });
      expect(obj(obj(c.readinessProbe, `${kind} readinessProbe`).httpGet, 'httpGet')).toEqual({ path: '/readyz', port: 'monitoring' });
    }
  });

  it('the speaker runs on every node in the host network with NET_RAW and NET_ADMIN', () => {
    const ds = workload('DaemonSet');
    expect(obj(ds.metadata, 'metadata').name).toBe('speaker');
    const pod = podSpec(ds);
    expect(pod.hostNetwork).toBe(true);
    expect(pod.tolerations).toEqual(
      expect.arrayContaining([{ key: 'node-role.kubernetes.io/control-plane', operator: 'Exists', effect: 'NoSchedule' }]),
    );
    const c = onlyContainer(ds);
    expect(c.image).toBe('ghcr.io/ironlb/ironlb:0.1.0');
    expect(c.args).toEqual(['speaker', '--node-name=$(METALLB_NODE_NAME)']);
    expect(arr(c.env, 'env')).toContainEqual({ name: 'METALLB_NODE_NAME', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'spec.nodeName' } } });
    expect(c.securityContext).toMatchObject({ capabilities: { drop: ['ALL'], add: ['NET_RAW', 'NET_ADMIN'] } });
    const ports = arr(c.ports, 'ports').map((p) => obj(p, 'port'));
    expect(ports.map((p) => `${String(p.containerPort)}/${String(p.protocol)}`).sort()).toEqual(['7472/TCP', '7946/TCP', '7946/UDP']);
    expect(new Set(ports.map((p) => p.name)).size).toBe(ports.length);
    // Every mounted volume is declared.
    const volumes = arr(pod.volumes, 'volumes').map((v) => obj(v, 'volume').name);
    for (const m of arr(c.volumeMounts, 'volumeMounts')) expect(volumes).toContain(obj(m, 'mount').name);
  });
});

// ---------------------------------------------------------------------------------------------

describe('one-file install', () => {
  it('is exactly the output of manifests/build.mjs', () => {
    const committed = readFileSync(join(MANIFESTS_DIR as string, NATIVE_BUNDLE as string), 'utf8');
    expect(committed === buildNativeManifest(), 'run: node manifests/build.mjs').toBe(true);
  });

  it('includes every manifest file once, in apply order', () => {
    const yamlFiles = readdirSync(MANIFESTS_DIR as string, { recursive: true })
      .map(String)
      // manifests/kube-ovn/ holds Kube-OVN's CRDs for the lab and tests, not part of the install.
      .filter((f) => f.endsWith('.yaml') && f !== NATIVE_BUNDLE && !f.startsWith('kube-ovn/'))
      .sort();
    expect([...parts].sort()).toEqual(yamlFiles);
    expect(parts[0]).toBe('namespace.yaml');
    const kinds = allDocs.map(({ doc }) => String(doc.kind));
    expect(kinds.lastIndexOf('CustomResourceDefinition')).toBeLessThan(kinds.indexOf('ServiceAccount'));
    expect(kinds.slice(-2)).toEqual(['Deployment', 'DaemonSet']);
  });

  it('parses into the namespace, 9 CRDs, RBAC, the ConfigMap and both workloads', () => {
    const docs = parseAllDocuments(buildNativeManifest() as string).map((d) => obj(d.toJS() as Json, 'doc'));
    const count = (kind: string) => docs.filter((d) => d.kind === kind).length;
    expect(count('Namespace')).toBe(1);
    expect(count('CustomResourceDefinition')).toBe(9);
    expect(count('ServiceAccount')).toBe(2);
    expect(count('ClusterRole') + count('Role')).toBe(5);
    expect(count('ClusterRoleBinding') + count('RoleBinding')).toBe(5);
    expect(count('ConfigMap')).toBe(1);
    expect(count('Deployment')).toBe(1);
    expect(count('DaemonSet')).toBe(1);
    expect(count('Service')).toBe(1); // metallb-webhook-service
    expect(count('ValidatingWebhookConfiguration')).toBe(1);
    expect(count('Secret')).toBe(1); // metallb-webhook-cert, filled by the controller
    expect(docs).toHaveLength(allDocs.length);
  });

  it('refuses an object defined in two parts', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ironlb-manifests-'));
    try {
      cpSync(MANIFESTS_DIR as string, dir, { recursive: true });
      const ns = readFileSync(join(dir, 'namespace.yaml'), 'utf8');
      writeFileSync(join(dir, 'controller.yaml'), `${readFileSync(join(dir, 'controller.yaml'), 'utf8')}---\n${ns}`);
      expect(() => buildNativeManifest(dir)).toThrow(/Namespace\/\/metallb-system is already defined in manifests\/namespace\.yaml/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// ---------------------------------------------------------------------------------------------

describe('validating webhook', () => {
  const docs = readDocs('webhook.yaml');
  const vwc = docs.find((d) => d.kind === 'ValidatingWebhookConfiguration') as Obj;
  const service = docs.find((d) => d.kind === 'Service') as Obj;
  const hooks = arr(vwc.webhooks, 'webhooks').map((w) => obj(w, 'webhook'));

  it('has MetalLB\'s names: configuration, Service, Secret', () => {
    expect(obj(vwc.metadata, 'metadata').name).toBe('metallb-webhook-configuration');
    expect(obj(service.metadata, 'metadata')).toMatchObject({ name: 'metallb-webhook-service', namespace: NAMESPACE });
    expect(docs.find((d) => d.kind === 'Secret')?.metadata).toMatchObject({ name: 'metallb-webhook-cert', namespace: NAMESPACE });
  });

  it('one webhook per configuration kind, on a path the controller serves, failing closed like MetalLB', () => {
    const resources = hooks.map((h) => String(arr(obj(arr(h.rules, 'rules')[0], 'rule').resources, 'resources')[0])).sort();
    expect(resources).toEqual(['bfdprofiles', 'bgpadvertisements', 'bgppeers', 'communities', 'ipaddresspools', 'l2advertisements']);
    const paths = hooks.map((h) => String(obj(obj(h.clientConfig, 'clientConfig').service, 'service').path));
    expect([...paths].sort()).toEqual([...(WEBHOOK_PATHS as readonly string[])].sort());
    for (const h of hooks) {
      expect(h).toMatchObject({ admissionReviewVersions: ['v1'], sideEffects: 'None', failurePolicy: 'Fail', timeoutSeconds: 10 });
      expect(obj(obj(h.clientConfig, 'clientConfig').service, 'service')).toMatchObject({ name: 'metallb-webhook-service', namespace: NAMESPACE });
      const rule = obj(arr(h.rules, 'rules')[0], 'rule');
      expect(rule.apiGroups).toEqual([GROUP]);
      // The rule's version must be one the CRD serves.
      const kind = [...crds.entries()].find(([, c]) => obj(obj(c.spec, 'spec').names, 'names').plural === arr(rule.resources, 'resources')[0])?.[0] as string;
      for (const v of arr(rule.apiVersions, 'apiVersions')) expect(versionOf(kind, String(v)).served).toBe(true);
      const ops = arr(rule.operations, 'operations');
      expect(ops).toEqual(expect.arrayContaining(['CREATE', 'UPDATE']));
      // Only a BFDProfile's deletion is judged (in use by a peer); pools, peers, ads delete freely.
      expect(ops.includes('DELETE')).toBe(kind === 'BFDProfile');
    }
  });

  it('the Service reaches the controller pods\' webhook port', () => {
    const d = workload('Deployment');
    const podLabels = obj(obj(obj(obj(d.spec, 'spec').template, 'template').metadata, 'metadata').labels, 'labels');
    const spec = obj(service.spec, 'spec');
    expect(podLabels).toMatchObject(obj(spec.selector, 'selector'));
    const port = obj(arr(spec.ports, 'ports')[0], 'port');
    expect(port.port).toBe(443);
    const c = onlyContainer(d);
    const target = arr(c.ports, 'ports').map((p) => obj(p, 'port')).find((p) => p.name === port.targetPort);
    expect(target?.containerPort).toBe(9443);
    expect(c.args).toContain(`--webhook-port=${String(target?.containerPort)}`);
  });
});
