// The legacy ConfigMap (MetalLB <= v0.12: ConfigMap "config", key "config") -> metallb.io CR
// objects, the way MetalLB's configmaptocrs converter lays them out (spec section 8). Only rules
// that are about the legacy format itself are checked here; the produced objects are validated by
// parseConfig like any CRs (one validator for both paths).
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { formatGoDuration, parseGoDuration } from './goDuration.js';
import { normalizeLegacyName } from './kubernetesNames.js';
import type { ConfigError } from './model.js';
import { ConfigProblems, formatFieldPath, PARSE_OPTIONS, type ObjectRef } from './problems.js';
import { emptyResources, type ConfigResources } from './resources.js';
import { STORAGE_VERSION } from './schemas.js';
import { DEFAULT_HOLD_TIME } from './peerConfig.js';

export type LegacyOutcome =
  | { ok: true; resources: ConfigResources; warnings: ConfigError[] }
  | { ok: false; errors: ConfigError[] };

const CONFIGMAP: ObjectRef = { kind: 'ConfigMap', name: 'config' };

// MetalLB read the ConfigMap strictly (unknown keys were errors), so the schemas are strict.
const legacySelectorSchema = z.strictObject({
  'match-labels': z.record(z.string(), z.string()).optional(),
  'match-expressions': z
    .array(z.strictObject({ key: z.string(), operator: z.string(), values: z.array(z.string()).optional() }))
    .optional(),
});

const legacyPeerSchema = z.strictObject({
  'my-asn': z.number().optional(),
  'peer-asn': z.number().optional(),
  'peer-address': z.string().optional(),
  'source-address': z.string().optional(),
  'peer-port': z.number().optional(),
  'hold-time': z.string().optional(),
  'keepalive-time': z.string().optional(),
  'router-id': z.string().optional(),
  password: z.string().optional(),
  'bfd-profile': z.string().optional(),
  'ebgp-multihop': z.boolean().optional(),
  'node-selectors': z.array(legacySelectorSchema).optional(),
});

const legacyAdvertisementSchema = z.strictObject({
  'aggregation-length': z.number().optional(),
  'aggregation-length-v6': z.number().optional(),
  localpref: z.number().optional(),
  communities: z.array(z.string()).optional(),
});

const legacyPoolSchema = z.strictObject({
  name: z.string().optional(),
  protocol: z.string().optional(),
  addresses: z.array(z.string()).optional(),
  'auto-assign': z.boolean().optional(),
  'avoid-buggy-ips': z.boolean().optional(),
  'bgp-advertisements': z.array(legacyAdvertisementSchema).optional(),
});

const legacyBfdProfileSchema = z.strictObject({
  name: z.string().optional(),
  'receive-interval': z.number().optional(),
  'transmit-interval': z.number().optional(),
  'detect-multiplier': z.number().optional(),
  'echo-interval': z.number().optional(),
  'echo-mode': z.boolean().optional(),
  'passive-mode': z.boolean().optional(),
  'minimum-ttl': z.number().optional(),
});

export const legacyConfigSchema = z.strictObject({
  peers: z.array(legacyPeerSchema).optional(),
  'address-pools': z.array(legacyPoolSchema).optional(),
  'bgp-communities': z.record(z.string(), z.string()).optional(),
  'bfd-profiles': z.array(legacyBfdProfileSchema).optional(),
});
export type LegacyConfig = z.output<typeof legacyConfigSchema>;

type LegacySelector = z.output<typeof legacySelectorSchema>;

function crObject(kind: keyof typeof STORAGE_VERSION, name: string, namespace: string, spec: Record<string, unknown>) {
  return { apiVersion: STORAGE_VERSION[kind], kind, metadata: { name, namespace }, spec };
}

function convertSelector(s: LegacySelector): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (s['match-labels']) out.matchLabels = { ...s['match-labels'] };
  if (s['match-expressions']) {
    out.matchExpressions = s['match-expressions'].map((e) => ({ key: e.key, operator: e.operator, ...(e.values ? { values: [...e.values] } : {}) }));
  }
  return out;
}

/** Renames with a warning when the name is not a plain DNS label (configmaptocrs >= v0.13.11). */
function objectName(original: string, field: string, problems: ConfigProblems): string {
  const name = normalizeLegacyName(original);
  if (name !== original) {
    problems.warn(CONFIGMAP, field, `name "${original}" is not a valid Kubernetes object name and becomes "${name}"; Services that name the old pool in metallb.universe.tf/address-pool must use the new name`);
  }
  return name;
}

function readYaml(configYaml: string, problems: ConfigProblems): unknown {
  const doc = parseDocument(configYaml);
  for (const e of doc.errors) {
    const pos = e.linePos?.[0];
    problems.error(CONFIGMAP, pos ? `line ${pos.line}, column ${pos.col}` : '(document)', `invalid YAML: ${e.message.split('\n')[0]}; fix the syntax (indentation of nested lists is a common cause)`);
  }
  if (doc.errors.length > 0) return undefined;
  try {
    return doc.toJS() ?? {};
  } catch (e) {
    // The yaml library reports unresolved aliases and alias fan-out (its maxAliasCount) only when
    // converting, by throwing (found by bench/fuzz).
    problems.error(CONFIGMAP, '(document)', `invalid YAML: ${(e as Error).message.split('\n')[0]}; define each anchor (&name) before its alias (*name) and do not nest aliases deeply`);
    return undefined;
  }
}

/** The `config` key of ConfigMap `config` (seed 001/003 format); `namespace` for the produced objects. */
export function legacyToResources(configYaml: string, namespace: string): LegacyOutcome {
  const problems = new ConfigProblems();
  const raw = readYaml(configYaml, problems);
  if (raw === undefined) return { ok: false, errors: problems.errors };
  const parsed = legacyConfigSchema.safeParse(raw, PARSE_OPTIONS);
  if (!parsed.success) {
    problems.schemaIssues(CONFIGMAP, [], parsed.error);
    return { ok: false, errors: problems.errors };
  }
  const legacy = parsed.data;
  const out = emptyResources();

  const bfdNames = new Map<string, string>();
  const bfdName = (original: string, field: string) => {
    let name = bfdNames.get(original);
    if (name === undefined) bfdNames.set(original, (name = objectName(original, field, problems)));
    return name;
  };

  (legacy.peers ?? []).forEach((p, i) => {
    const field = (key: string) => formatFieldPath(['peers', i, key]);
    let holdSeconds = DEFAULT_HOLD_TIME;
    if (p['hold-time'] !== undefined) {
      const parsedHold = parseGoDuration(p['hold-time']);
      if (parsedHold === undefined) {
        problems.error(CONFIGMAP, field('hold-time'), `invalid duration "${p['hold-time']}"; write a Go duration such as "90s" or "1m30s"`);
      } else holdSeconds = Math.floor(parsedHold);
    }
    let keepalive: string | undefined;
    if (p['keepalive-time'] !== undefined) {
      const parsedKeepalive = parseGoDuration(p['keepalive-time']);
      if (parsedKeepalive === undefined) {
        problems.error(CONFIGMAP, field('keepalive-time'), `invalid duration "${p['keepalive-time']}"; write a Go duration such as "30s"`);
      } else keepalive = formatGoDuration(parsedKeepalive);
    }
    const spec: Record<string, unknown> = {};
    if (p['my-asn'] !== undefined) spec.myASN = p['my-asn'];
    if (p['peer-asn'] !== undefined) spec.peerASN = p['peer-asn'];
    if (p['peer-address'] !== undefined) spec.peerAddress = p['peer-address'];
    if (p['source-address'] !== undefined) spec.sourceAddress = p['source-address'];
    if (p['peer-port'] !== undefined) spec.peerPort = p['peer-port'];
    spec.holdTime = formatGoDuration(holdSeconds);
    if (keepalive !== undefined) spec.keepaliveTime = keepalive;
    if (p['router-id'] !== undefined) spec.routerID = p['router-id'];
    if (p.password !== undefined) spec.password = p.password;
    if (p['bfd-profile'] !== undefined) spec.bfdProfile = bfdName(p['bfd-profile'], field('bfd-profile'));
    if (p['ebgp-multihop'] === true) spec.ebgpMultiHop = true;
    if (p['node-selectors'] && p['node-selectors'].length > 0) spec.nodeSelectors = p['node-selectors'].map(convertSelector);
    out.bgpPeers.push(crObject('BGPPeer', `peer${i + 1}`, namespace, spec));
  });

  let bgpAdCount = 0;
  let l2AdCount = 0;
  (legacy['address-pools'] ?? []).forEach((pool, i) => {
    const field = (key: string) => formatFieldPath(['address-pools', i, key]);
    if (pool.name === undefined || pool.name === '') {
      problems.error(CONFIGMAP, field('name'), 'address pool is missing the name field; give every pool a unique name');
      return;
    }
    const name = objectName(pool.name, field('name'), problems);
    const protocol = pool.protocol;
    if (protocol === undefined || protocol === '') {
      problems.error(CONFIGMAP, field('protocol'), `address pool "${pool.name}" is missing the protocol field; set protocol to layer2 or bgp`);
      return;
    }
    if (protocol !== 'layer2' && protocol !== 'bgp') {
      const hint = protocol === 'arp' || protocol === 'ndp' ? ` ("${protocol}" was replaced by layer2 in MetalLB 0.7)` : '';
      problems.error(CONFIGMAP, field('protocol'), `unknown protocol "${protocol}" in address pool "${pool.name}"${hint}; use layer2 or bgp`);
      return;
    }
    const ads = pool['bgp-advertisements'] ?? [];
    if (protocol === 'layer2' && ads.length > 0) {
      problems.error(CONFIGMAP, field('bgp-advertisements'), `address pool "${pool.name}" has protocol layer2 but lists bgp-advertisements; remove them or set protocol to bgp`);
      return;
    }
    const poolSpec: Record<string, unknown> = { addresses: [...(pool.addresses ?? [])] };
    if (pool['auto-assign'] !== undefined) poolSpec.autoAssign = pool['auto-assign'];
    if (pool['avoid-buggy-ips'] === true) poolSpec.avoidBuggyIPs = true;
    out.pools.push(crObject('IPAddressPool', name, namespace, poolSpec));

    if (protocol === 'layer2') {
      out.l2Advertisements.push(crObject('L2Advertisement', `l2advertisement${++l2AdCount}`, namespace, { ipAddressPools: [name] }));
      return;
    }
    // A bgp pool without advertisements was announced with the defaults (/32, /128) to all peers.
    const legacyAds = ads.length > 0 ? ads : [{}];
    for (const ad of legacyAds as z.output<typeof legacyAdvertisementSchema>[]) {
      const spec: Record<string, unknown> = {};
      if (ad['aggregation-length'] !== undefined) spec.aggregationLength = ad['aggregation-length'];
      if (ad['aggregation-length-v6'] !== undefined) spec.aggregationLengthV6 = ad['aggregation-length-v6'];
      if (ad.localpref !== undefined) spec.localPref = ad.localpref;
      if (ad.communities && ad.communities.length > 0) spec.communities = [...ad.communities];
      spec.ipAddressPools = [name];
      out.bgpAdvertisements.push(crObject('BGPAdvertisement', `bgpadvertisement${++bgpAdCount}`, namespace, spec));
    }
  });

  (legacy['bfd-profiles'] ?? []).forEach((p, i) => {
    const field = (key: string) => formatFieldPath(['bfd-profiles', i, key]);
    if (p.name === undefined || p.name === '') {
      problems.error(CONFIGMAP, field('name'), 'BFD profile is missing the name field; give every profile a unique name');
      return;
    }
    const spec: Record<string, unknown> = {};
    if (p['receive-interval'] !== undefined) spec.receiveInterval = p['receive-interval'];
    if (p['transmit-interval'] !== undefined) spec.transmitInterval = p['transmit-interval'];
    if (p['detect-multiplier'] !== undefined) spec.detectMultiplier = p['detect-multiplier'];
    if (p['echo-interval'] !== undefined) spec.echoInterval = p['echo-interval'];
    if (p['echo-mode'] !== undefined) spec.echoMode = p['echo-mode'];
    if (p['passive-mode'] !== undefined) spec.passiveMode = p['passive-mode'];
    if (p['minimum-ttl'] !== undefined) spec.minimumTtl = p['minimum-ttl'];
    out.bfdProfiles.push(crObject('BFDProfile', bfdName(p.name, field('name')), namespace, spec));
  });

  const aliases = Object.entries(legacy['bgp-communities'] ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  if (aliases.length > 0) {
    out.communities.push(crObject('Community', 'communities', namespace, { communities: aliases.map(([name, value]) => ({ name, value })) }));
  }

  if (problems.errors.length > 0) return { ok: false, errors: problems.errors };
  return { ok: true, resources: out, warnings: problems.warnings };
}
