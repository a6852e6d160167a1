// zod models of the metallb.io CR specs. A schema holds every rule that can be decided by looking
// at one field (types, CRD ranges, address/duration/community syntax, selector syntax, duplicate
// list entries). Rules that relate fields or objects live in the *Config.ts builders.
import { z } from 'zod';
import { parseAddressEntry, parseIp } from '../net/address.js';
import { classifyCommunityText, parseCommunityValue } from './community.js';
import { parseGoDuration } from './goDuration.js';
import { labelKeyProblem, labelValueProblem } from './kubernetesNames.js';
import { selectorKey } from './labelSelector.js';
import type { LabelSelector, LabelSelectorRequirement } from './model.js';

// ---------------------------------------------------------------- building blocks

const UINT32_MAX = 4294967295;

/** A whole number in [min, max]; the message names the range (MetalLB: "must be in a-b range"). */
export function intInRange(min: number, max: number, hint?: string) {
  return z.number().refine((v) => Number.isInteger(v) && v >= min && v <= max, {
    error: (iss) => `invalid value ${String(iss.input)}: must be a whole number in the ${min}-${max} range; ${hint ?? `pick a value between ${min} and ${max}`}`,
  });
}

/** A list whose entries must be distinct ("duplicate definition of ..."). */
export function uniqueList<T extends z.ZodType>(item: T, keyOf: (v: z.output<T>) => string, describe: (v: z.output<T>) => string) {
  return z.array(item).superRefine((list, ctx) => {
    const seen = new Map<string, number>();
    list.forEach((v, i) => {
      const key = keyOf(v);
      const first = seen.get(key);
      if (first === undefined) seen.set(key, i);
      else ctx.addIssue({ code: 'custom', path: [i], message: `duplicate definition of ${describe(v)} (same as entry [${first}]); remove one of them` });
    });
  });
}

const uniqueStrings = (what: string) => uniqueList(z.string(), (s) => s, (s) => `${what} "${s}"`);

/** A non-empty reference to another object by name. */
const objectRefName = (what: string) =>
  z.string().refine((s) => s.trim() !== '', { error: `empty ${what} name; write the name of an existing ${what} or remove the entry` });

/** Optional IP text; "" counts as unset (Go zero value). */
function ipText(field: string, opts: { v4Only?: boolean } = {}) {
  return z.string().superRefine((s, ctx) => {
    if (s === '') return;
    const ip = parseIp(s);
    if (!ip) {
      ctx.addIssue({ code: 'custom', message: `"${s}" is not a valid IP address; write ${field} as a plain address such as "192.0.2.1" or "2001:db8::1" (no prefix length)` });
    } else if (opts.v4Only && ip.family !== 4) {
      ctx.addIssue({ code: 'custom', message: `"${s}" is an IPv6 address, but a BGP router ID is a 32-bit value; write ${field} as an IPv4 address such as "10.0.0.1"` });
    }
  });
}

const goDurationText = z.string().superRefine((s, ctx) => {
  if (parseGoDuration(s) === undefined) {
    ctx.addIssue({ code: 'custom', message: `invalid duration "${s}"; write a Go duration such as "90s", "1m30s" or "500ms" (the unit is required)` });
  }
});

const asnNumber = intInRange(0, UINT32_MAX, 'use a 16-bit or 32-bit AS number');

// ---------------------------------------------------------------- label selectors

export const labelMapSchema = z.record(z.string(), z.string()).superRefine((labels, ctx) => {
  for (const [key, value] of Object.entries(labels)) {
    const keyProblem = labelKeyProblem(key);
    if (keyProblem) ctx.addIssue({ code: 'custom', path: [key], message: `${keyProblem}; fix the label key` });
    const valueProblem = labelValueProblem(value);
    if (valueProblem) ctx.addIssue({ code: 'custom', path: [key], message: `${valueProblem}; fix the label value` });
  }
});

const OPERATORS: readonly string[] = ['In', 'NotIn', 'Exists', 'DoesNotExist'];

export const labelSelectorRequirementSchema = z
  .object({ key: z.string(), operator: z.string(), values: z.array(z.string()).optional() })
  .superRefine((req, ctx) => {
    const keyProblem = labelKeyProblem(req.key);
    if (keyProblem) ctx.addIssue({ code: 'custom', path: ['key'], message: `${keyProblem}; fix the key` });
    const values = req.values ?? [];
    if (!OPERATORS.includes(req.operator)) {
      ctx.addIssue({ code: 'custom', path: ['operator'], message: `invalid operator "${req.operator}"; use one of In, NotIn, Exists, DoesNotExist (case-sensitive)` });
    } else if ((req.operator === 'In' || req.operator === 'NotIn') && values.length === 0) {
      ctx.addIssue({ code: 'custom', path: ['values'], message: `operator ${req.operator} needs at least one value; add values, or use Exists/DoesNotExist to test only for the key` });
    } else if ((req.operator === 'Exists' || req.operator === 'DoesNotExist') && values.length > 0) {
      ctx.addIssue({ code: 'custom', path: ['values'], message: `operator ${req.operator} takes no values; remove values, or use In/NotIn to compare values` });
    }
    const seen = new Set<string>();
    values.forEach((v, i) => {
      const valueProblem = labelValueProblem(v);
      if (valueProblem) ctx.addIssue({ code: 'custom', path: ['values', i], message: `${valueProblem}; fix the value` });
      if (seen.has(v)) ctx.addIssue({ code: 'custom', path: ['values', i], message: `duplicate value "${v}" in this expression; remove the repeated value` });
      seen.add(v);
    });
  });

export const labelSelectorSchema = z.object({
  matchLabels: labelMapSchema.optional(),
  matchExpressions: z.array(labelSelectorRequirementSchema).optional(),
});
export type LabelSelectorInput = z.output<typeof labelSelectorSchema>;

/** The model form of a schema-valid selector. */
export function toLabelSelector(input: LabelSelectorInput): LabelSelector {
  const matchExpressions: LabelSelectorRequirement[] = (input.matchExpressions ?? []).map((e) => ({
    key: e.key,
    operator: e.operator as LabelSelectorRequirement['operator'],
    values: e.operator === 'In' || e.operator === 'NotIn' ? [...(e.values ?? [])] : [],
  }));
  return { matchLabels: { ...(input.matchLabels ?? {}) }, matchExpressions };
}

export const selectorListSchema = uniqueList(
  labelSelectorSchema,
  (s) => selectorKey(toLabelSelector(s)),
  () => 'selector',
);

// ---------------------------------------------------------------- object envelope

export const objectMetaSchema = z.object({
  name: z.string().optional(),
  namespace: z.string().optional(),
  labels: labelMapSchema.optional(),
});

export const envelopeSchema = z.object({
  apiVersion: z.string().optional(),
  kind: z.string().optional(),
  metadata: objectMetaSchema.optional(),
  spec: z.unknown().optional(),
});

// ---------------------------------------------------------------- IPAddressPool (v1beta1)

export const addressEntrySchema = z.string().superRefine((entry, ctx) => {
  const parsed = parseAddressEntry(entry);
  if (!parsed.ok) {
    ctx.addIssue({ code: 'custom', message: `${parsed.reason}; write a CIDR such as "192.168.10.0/24" or a range such as "192.168.10.10-192.168.10.20"` });
  }
});

export const serviceAllocationSchema = z.object({
  priority: intInRange(0, 2147483647, 'use 0 (lowest) or a positive number, where 1 is the highest priority').optional(),
  namespaces: uniqueStrings('namespace').optional(),
  namespaceSelectors: selectorListSchema.optional(),
  serviceSelectors: selectorListSchema.optional(),
});

export const ipAddressPoolSpecSchema = z.object({
  addresses: z
    .array(addressEntrySchema, {
      error: (iss) => (iss.input === undefined ? 'pool has no addresses; list at least one CIDR or A-B range' : undefined),
    })
    .min(1, { error: 'pool has no addresses; list at least one CIDR or A-B range' }),
  autoAssign: z.boolean().optional(),
  avoidBuggyIPs: z.boolean().optional(),
  serviceAllocation: serviceAllocationSchema.optional(),
});
export type IPAddressPoolSpec = z.output<typeof ipAddressPoolSpecSchema>;

// ---------------------------------------------------------------- L2Advertisement (v1beta1)

const poolNames = uniqueList(objectRefName('IPAddressPool'), (s) => s, (s) => `IPAddressPool "${s}"`);

export const preferredNodeSelectorSchema = z.object({
  weight: intInRange(1, 100),
  preference: labelSelectorSchema,
});

export const l2AdvertisementSpecSchema = z.object({
  ipAddressPools: poolNames.optional(),
  ipAddressPoolSelectors: selectorListSchema.optional(),
  nodeSelectors: selectorListSchema.optional(),
  interfaces: uniqueStrings('interface').optional(),
  serviceSelectors: selectorListSchema.optional(),
  preferredNodeSelectors: uniqueList(
    preferredNodeSelectorSchema,
    (p) => `${p.weight} ${selectorKey(toLabelSelector(p.preference))}`,
    (p) => `preferred node selector with weight ${p.weight}`,
  ).optional(),
});
export type L2AdvertisementSpec = z.output<typeof l2AdvertisementSpecSchema>;

// ---------------------------------------------------------------- BGPAdvertisement (v1beta1)

export const advertisedCommunitySchema = z.string().superRefine((text, ctx) => {
  if (text.trim() === '') {
    ctx.addIssue({ code: 'custom', message: 'empty community; write "A:B", "large:A:B:C" or the name of a Community alias' });
    return;
  }
  const c = classifyCommunityText(text);
  if (c.kind === 'invalid') ctx.addIssue({ code: 'custom', message: c.reason });
});

export const DEFAULT_AGGREGATION_LENGTH = 32;
export const DEFAULT_AGGREGATION_LENGTH_V6 = 128;

export const bgpAdvertisementSpecSchema = z.object({
  // CRD minimum is 1; the parser rejects anything above 32.
  aggregationLength: intInRange(1, 32, 'use a prefix length between 1 and 32 (32 = announce each IP on its own)').optional(),
  aggregationLengthV6: intInRange(0, 128, 'use a prefix length between 0 and 128 (128 = announce each IP on its own)').optional(),
  localPref: intInRange(0, UINT32_MAX).optional(),
  communities: uniqueList(advertisedCommunitySchema, (s) => s, (s) => `community "${s}"`).optional(),
  ipAddressPools: poolNames.optional(),
  ipAddressPoolSelectors: selectorListSchema.optional(),
  nodeSelectors: selectorListSchema.optional(),
  peers: uniqueList(objectRefName('BGPPeer'), (s) => s, (s) => `peer "${s}"`).optional(),
  serviceSelectors: selectorListSchema.optional(),
});
export type BGPAdvertisementSpec = z.output<typeof bgpAdvertisementSpecSchema>;

// ---------------------------------------------------------------- BGPPeer (v1beta2 hub, v1beta1 served)

export const passwordSecretSchema = z.object({
  name: z.string().optional(),
  namespace: z.string().optional(),
});

export const bgpPeerSpecV1beta2Schema = z.object({
  myASN: asnNumber.optional(),
  peerASN: asnNumber.optional(),
  dynamicASN: z.string().optional(),
  localASN: intInRange(1, UINT32_MAX, 'use the AS number to present to this peer').optional(),
  peerAddress: ipText('peerAddress').optional(),
  interface: z.string().optional(),
  sourceAddress: ipText('sourceAddress').optional(),
  peerPort: intInRange(1, 16384, 'leave it unset for the BGP port 179').optional(),
  holdTime: goDurationText.optional(),
  keepaliveTime: goDurationText.optional(),
  connectTime: goDurationText.optional(),
  routerID: ipText('routerID', { v4Only: true }).optional(),
  nodeSelectors: selectorListSchema.optional(),
  password: z.string().optional(),
  passwordSecret: passwordSecretSchema.optional(),
  bfdProfile: z.string().optional(),
  enableGracefulRestart: z.boolean().optional(),
  ebgpMultiHop: z.boolean().optional(),
  vrf: z.string().optional(),
  disableMP: z.boolean().optional(),
  dualStackAddressFamily: z.boolean().optional(),
});
export type BGPPeerSpec = z.output<typeof bgpPeerSpecV1beta2Schema>;

/** v1beta1 has the older field set and allowed peerPort 0 (treated as unset). */
export const bgpPeerSpecV1beta1Schema = bgpPeerSpecV1beta2Schema
  .pick({
    myASN: true,
    peerASN: true,
    peerAddress: true,
    sourceAddress: true,
    holdTime: true,
    keepaliveTime: true,
    routerID: true,
    nodeSelectors: true,
    password: true,
    passwordSecret: true,
    bfdProfile: true,
    ebgpMultiHop: true,
    vrf: true,
  })
  .extend({ peerPort: intInRange(0, 16384, 'leave it unset for the BGP port 179').optional() });

// ---------------------------------------------------------------- BFDProfile (v1beta1)

export const BFD_DEFAULTS = {
  receiveInterval: 300,
  transmitInterval: 300,
  detectMultiplier: 3,
  echoInterval: 50,
  minimumTtl: 254,
} as const;

export const bfdProfileSpecSchema = z.object({
  receiveInterval: intInRange(10, 60000, 'give the interval in milliseconds').optional(),
  transmitInterval: intInRange(10, 60000, 'give the interval in milliseconds').optional(),
  detectMultiplier: intInRange(2, 255).optional(),
  echoInterval: intInRange(10, 60000, 'give the interval in milliseconds').optional(),
  echoMode: z.boolean().optional(),
  passiveMode: z.boolean().optional(),
  minimumTtl: intInRange(1, 254).optional(),
});
export type BFDProfileSpec = z.output<typeof bfdProfileSpecSchema>;

// ---------------------------------------------------------------- Community (v1beta1)

export const communityAliasSchema = z.object({
  name: z.string().refine((s) => s.trim() !== '' && !s.includes(':'), {
    error: (iss) => `invalid alias name ${JSON.stringify(iss.input)}: an alias must be non-empty and contain no ":" (text with ":" is read as a community value)`,
  }),
  value: z.string().superRefine((text, ctx) => {
    const parsed = parseCommunityValue(text);
    if (!parsed.ok) ctx.addIssue({ code: 'custom', message: parsed.reason });
  }),
});

export const communitySpecSchema = z.object({
  communities: z.array(communityAliasSchema).optional(),
});
export type CommunitySpec = z.output<typeof communitySpecSchema>;

/** Which spec schema applies to which kind and apiVersion (the versions MetalLB serves). */
export const SPEC_SCHEMAS = {
  IPAddressPool: { 'metallb.io/v1beta1': ipAddressPoolSpecSchema },
  L2Advertisement: { 'metallb.io/v1beta1': l2AdvertisementSpecSchema },
  BGPAdvertisement: { 'metallb.io/v1beta1': bgpAdvertisementSpecSchema },
  BGPPeer: { 'metallb.io/v1beta2': bgpPeerSpecV1beta2Schema, 'metallb.io/v1beta1': bgpPeerSpecV1beta1Schema },
  BFDProfile: { 'metallb.io/v1beta1': bfdProfileSpecSchema },
  Community: { 'metallb.io/v1beta1': communitySpecSchema },
} as const;

export type MetallbKind = keyof typeof SPEC_SCHEMAS;

/** The version used when an object carries no apiVersion (the storage version). */
export const STORAGE_VERSION: Readonly<Record<MetallbKind, string>> = {
  IPAddressPool: 'metallb.io/v1beta1',
  L2Advertisement: 'metallb.io/v1beta1',
  BGPAdvertisement: 'metallb.io/v1beta1',
  BGPPeer: 'metallb.io/v1beta2',
  BFDProfile: 'metallb.io/v1beta1',
  Community: 'metallb.io/v1beta1',
};
