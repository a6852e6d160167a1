// The catalogue of refused configurations: every error of spec section 5.4 and the field rules of
// sections 1.1-1.6 and 8, each as the YAML a user would apply (metallb.io CRs, or the `config` key of
// the legacy ConfigMap) and the error that names the object, the field and what is wrong. Everything
// goes through the real path: resourcesFromYaml + parseConfig for CRs, legacyToResources (+ parseConfig
// on what it produced, as the controller does) for ConfigMaps. Narrower tests of the same rules live in
// config.parse.test.ts and config.legacy.test.ts; this file is the one list of them all.
import { describe, expect, it } from 'vitest';
import { resourcesFromYaml } from '../../src/config/convert.js';
import { legacyToResources } from '../../src/config/legacy.js';
import type { ConfigError } from '../../src/config/model.js';
import { parseConfig } from '../../src/config/parse.js';

interface Refusal {
  readonly title: string;
  readonly source: 'crs' | 'configmap';
  readonly yaml: string;
  /** The first error reported; `message` is a substring of its message. */
  readonly want: { kind: string; name: string; field: string; message: string; transient?: boolean };
}

const NS = 'metallb-system';

/** The errors the real path reports for this input (empty = accepted). */
function refusals(source: Refusal['source'], yaml: string): { errors: ConfigError[]; warnings: ConfigError[] } {
  if (source === 'configmap') {
    const legacy = legacyToResources(yaml, NS);
    if (!legacy.ok) return { errors: legacy.errors, warnings: [] };
    const out = parseConfig(legacy.resources);
    return { errors: out.ok ? [] : out.errors, warnings: [...legacy.warnings, ...out.warnings] };
  }
  const read = resourcesFromYaml(yaml);
  if (!read.ok) return { errors: read.errors, warnings: read.warnings };
  const out = parseConfig(read.resources);
  return { errors: out.ok ? [] : out.errors, warnings: out.warnings };
}

const CATALOGUE: readonly Refusal[] = [
  {
    title: "pool: empty addresses",
    source: 'crs',
    yaml: `apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: p, namespace: metallb-system}
spec: {"addresses":[]}
`,
    want: { kind: "IPAddressPool", name: "p", field: "spec.addresses", message: "pool has no addresses" },
  },
  {
    title: "pool: no addresses field",
    source: 'crs',
    yaml: `apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: p, namespace: metallb-system}
spec: {}
`,
    want: { kind: "IPAddressPool", name: "p", field: "spec.addresses", message: "pool has no addresses" },
  },
  {
    title: "pool: CIDR prefix too long",
    source: 'crs',
    yaml: `apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: p, namespace: metallb-system}
spec: {"addresses":["192.0.2.0/33"]}
`,
    want: { kind: "IPAddressPool", name: "p", field: "spec.addresses[0]", message: "invalid CIDR \"192.0.2.0/33\"" },
  },
  {
    title: "pool: bare IP without prefix",
    source: 'crs',
    yaml: `apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: p, namespace: metallb-system}
spec: {"addresses":["192.0.2.1"]}
`,
    want: { kind: "IPAddressPool", name: "p", field: "spec.addresses[0]", message: "invalid CIDR \"192.0.2.1\": a single address must be written as a CIDR (x/32, x/128) or a ra" },
  },
  {
    title: "pool: not an address",
    source: 'crs',
    yaml: `apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: p, namespace: metallb-system}
spec: {"addresses":["not-an-ip/24"]}
`,
    want: { kind: "IPAddressPool", name: "p", field: "spec.addresses[0]", message: "invalid CIDR \"not-an-ip/24\"" },
  },
  {
    title: "pool: IPv4 range reversed",
    source: 'crs',
    yaml: `apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: p, namespace: metallb-system}
spec: {"addresses":["192.0.2.10-192.0.2.1"]}
`,
    want: { kind: "IPAddressPool", name: "p", field: "spec.addresses[0]", message: "invalid IP range \"192.0.2.10-192.0.2.1\": start IP \"192.0.2.10\" is after the end IP \"192.0." },
  },
  {
    title: "pool: range mixing families",
    source: 'crs',
    yaml: `apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: p, namespace: metallb-system}
spec: {"addresses":["192.0.2.1-2001:db8::1"]}
`,
    want: { kind: "IPAddressPool", name: "p", field: "spec.addresses[0]", message: "invalid IP range \"192.0.2.1-2001:db8::1\": start and end are of different IP families" },
  },
  {
    title: "pool: overlaps another pool",
    source: 'crs',
    yaml: `apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: v4, namespace: metallb-system}
spec: {"addresses":["192.0.2.0/24"]}
---
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: q, namespace: metallb-system}
spec: {"addresses":["192.0.2.128/25"]}
`,
    want: { kind: "IPAddressPool", name: "q", field: "spec.addresses[0]", message: "CIDR \"192.0.2.128/25\" overlaps with CIDR \"192.0.2.0/24\" in pool \"v4\"" },
  },
  {
    title: "pool: overlaps itself",
    source: 'crs',
    yaml: `apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: p, namespace: metallb-system}
spec: {"addresses":["198.51.100.0/24","198.51.100.10-198.51.100.20"]}
`,
    want: { kind: "IPAddressPool", name: "p", field: "spec.addresses[1]", message: "CIDR \"198.51.100.10/31\" (from \"198.51.100.10-198.51.100.20\") overlaps with CIDR \"198.51.10" },
  },
  {
    title: "pool: duplicate pool names",
    source: 'crs',
    yaml: `apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: v4, namespace: metallb-system}
spec: {"addresses":["192.0.2.0/24"]}
---
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: v4, namespace: metallb-system}
spec: {"addresses":["198.51.100.0/24"]}
`,
    want: { kind: "IPAddressPool", name: "v4", field: "metadata.name", message: "duplicate IPAddressPool name \"v4\" (objects #0 and #1)" },
  },
  {
    title: "pool: missing name",
    source: 'crs',
    yaml: `apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {namespace: metallb-system}
spec: {addresses: [192.0.2.0/24]}
`,
    want: { kind: "IPAddressPool", name: "#0", field: "metadata.name", message: "missing name" },
  },
  {
    title: "pool: duplicate namespaces",
    source: 'crs',
    yaml: `apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: p, namespace: metallb-system}
spec: {"addresses":["192.0.2.0/24"],"serviceAllocation":{"namespaces":["a","a"]}}
`,
    want: { kind: "IPAddressPool", name: "p", field: "spec.serviceAllocation.namespaces[1]", message: "duplicate definition of namespace \"a\" (same as entry [0])" },
  },
  {
    title: "pool: duplicate serviceSelectors",
    source: 'crs',
    yaml: `apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: p, namespace: metallb-system}
spec: {"addresses":["192.0.2.0/24"],"serviceAllocation":{"serviceSelectors":[{"matchLabels":{"a":"b"}},{"matchLabels":{"a":"b"}}]}}
`,
    want: { kind: "IPAddressPool", name: "p", field: "spec.serviceAllocation.serviceSelectors[1]", message: "duplicate definition of selector (same as entry [0])" },
  },
  {
    title: "pool: autoAssign not a boolean",
    source: 'crs',
    yaml: `apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: p, namespace: metallb-system}
spec: {"addresses":["192.0.2.0/24"],"autoAssign":"yes"}
`,
    want: { kind: "IPAddressPool", name: "p", field: "spec.autoAssign", message: "expected true or false (without quotes), got the string \"yes\"" },
  },
  {
    title: "pool: duplicate namespaceSelectors",
    source: 'crs',
    yaml: `apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: p, namespace: metallb-system}
spec: {"addresses":["192.0.2.0/24"],"serviceAllocation":{"namespaceSelectors":[{"matchLabels":{"a":"b"}},{"matchLabels":{"a":"b"}}]}}
`,
    want: { kind: "IPAddressPool", name: "p", field: "spec.serviceAllocation.namespaceSelectors[1]", message: "duplicate definition of selector (same as entry [0])" },
  },
  {
    title: "pool: range with spaces reversed v6",
    source: 'crs',
    yaml: `apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: p, namespace: metallb-system}
spec: {"addresses":["2001:db8::10 - 2001:db8::1"]}
`,
    want: { kind: "IPAddressPool", name: "p", field: "spec.addresses[0]", message: "invalid IP range \"2001:db8::10 - 2001:db8::1\": start IP \"2001:db8::10\" is after the end IP" },
  },
  {
    title: "l2: duplicate pool name",
    source: 'crs',
    yaml: `apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: v4, namespace: metallb-system}
spec: {"addresses":["192.0.2.0/24"]}
---
apiVersion: metallb.io/v1beta1
kind: L2Advertisement
metadata: {name: l, namespace: metallb-system}
spec: {"ipAddressPools":["v4","v4"]}
`,
    want: { kind: "L2Advertisement", name: "l", field: "spec.ipAddressPools[1]", message: "duplicate definition of IPAddressPool \"v4\" (same as entry [0])" },
  },
  {
    title: "l2: duplicate interface",
    source: 'crs',
    yaml: `apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: v4, namespace: metallb-system}
spec: {"addresses":["192.0.2.0/24"]}
---
apiVersion: metallb.io/v1beta1
kind: L2Advertisement
metadata: {name: l, namespace: metallb-system}
spec: {"interfaces":["eth0","eth0"]}
`,
    want: { kind: "L2Advertisement", name: "l", field: "spec.interfaces[1]", message: "duplicate definition of interface \"eth0\" (same as entry [0])" },
  },
  {
    title: "l2: selector with unknown operator",
    source: 'crs',
    yaml: `apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: v4, namespace: metallb-system}
spec: {"addresses":["192.0.2.0/24"]}
---
apiVersion: metallb.io/v1beta1
kind: L2Advertisement
metadata: {name: l, namespace: metallb-system}
spec: {"nodeSelectors":[{"matchExpressions":[{"key":"k","operator":"Near","values":["v"]}]}]}
`,
    want: { kind: "L2Advertisement", name: "l", field: "spec.nodeSelectors[0].matchExpressions[0].operator", message: "invalid operator \"Near\"" },
  },
  {
    title: "l2: In without values",
    source: 'crs',
    yaml: `apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: v4, namespace: metallb-system}
spec: {"addresses":["192.0.2.0/24"]}
---
apiVersion: metallb.io/v1beta1
kind: L2Advertisement
metadata: {name: l, namespace: metallb-system}
spec: {"ipAddressPoolSelectors":[{"matchExpressions":[{"key":"k","operator":"In"}]}]}
`,
    want: { kind: "L2Advertisement", name: "l", field: "spec.ipAddressPoolSelectors[0].matchExpressions[0].values", message: "operator In needs at least one value" },
  },
  {
    title: "l2: duplicate value in match expression",
    source: 'crs',
    yaml: `apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: v4, namespace: metallb-system}
spec: {"addresses":["192.0.2.0/24"]}
---
apiVersion: metallb.io/v1beta1
kind: L2Advertisement
metadata: {name: l, namespace: metallb-system}
spec: {"nodeSelectors":[{"matchExpressions":[{"key":"k","operator":"In","values":["v","v"]}]}]}
`,
    want: { kind: "L2Advertisement", name: "l", field: "spec.nodeSelectors[0].matchExpressions[0].values[1]", message: "duplicate value \"v\" in this expression" },
  },
  {
    title: "l2: preferred weight 101",
    source: 'crs',
    yaml: `apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: v4, namespace: metallb-system}
spec: {"addresses":["192.0.2.0/24"]}
---
apiVersion: metallb.io/v1beta1
kind: L2Advertisement
metadata: {name: l, namespace: metallb-system}
spec: {"preferredNodeSelectors":[{"weight":101,"preference":{"matchLabels":{"a":"b"}}}]}
`,
    want: { kind: "L2Advertisement", name: "l", field: "spec.preferredNodeSelectors[0].weight", message: "invalid value 101: must be a whole number in the 1-100 range" },
  },
  {
    title: "ad: aggregationLength above 32",
    source: 'crs',
    yaml: `apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: v4, namespace: metallb-system}
spec: {"addresses":["192.0.2.0/24"]}
---
apiVersion: metallb.io/v1beta1
kind: BGPAdvertisement
metadata: {name: a, namespace: metallb-system}
spec: {"aggregationLength":33}
`,
    want: { kind: "BGPAdvertisement", name: "a", field: "spec.aggregationLength", message: "invalid value 33: must be a whole number in the 1-32 range" },
  },
  {
    title: "ad: aggregationLengthV6 above 128",
    source: 'crs',
    yaml: `apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: v4, namespace: metallb-system}
spec: {"addresses":["192.0.2.0/24"]}
---
apiVersion: metallb.io/v1beta1
kind: BGPAdvertisement
metadata: {name: a, namespace: metallb-system}
spec: {"aggregationLengthV6":129}
`,
    want: { kind: "BGPAdvertisement", name: "a", field: "spec.aggregationLengthV6", message: "invalid value 129: must be a whole number in the 0-128 range" },
  },
  {
    title: "ad: aggregationLength wider than the pool prefix",
    source: 'crs',
    yaml: `apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: v4, namespace: metallb-system}
spec: {"addresses":["192.0.2.0/24"]}
---
apiVersion: metallb.io/v1beta1
kind: BGPAdvertisement
metadata: {name: a, namespace: metallb-system}
spec: {"aggregationLength":16}
`,
    want: { kind: "BGPAdvertisement", name: "a", field: "spec.aggregationLength", message: "aggregationLength 16 is shorter than prefix /24 of address entry \"192.0.2.0/24\" in IPAddre" },
  },
  {
    title: "ad: aggregationLengthV6 wider than the pool prefix",
    source: 'crs',
    yaml: `apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: v6, namespace: metallb-system}
spec: {"addresses":["2001:db8::/64"]}
---
apiVersion: metallb.io/v1beta1
kind: BGPAdvertisement
metadata: {name: a, namespace: metallb-system}
spec: {"aggregationLengthV6":48}
`,
    want: { kind: "BGPAdvertisement", name: "a", field: "spec.aggregationLengthV6", message: "aggregationLengthV6 48 is shorter than prefix /64 of address entry \"2001:db8::/64\" in IPAd" },
  },
  {
    title: "ad: serviceSelectors with non-default aggregation",
    source: 'crs',
    yaml: `apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: v4, namespace: metallb-system}
spec: {"addresses":["192.0.2.0/24"]}
---
apiVersion: metallb.io/v1beta1
kind: BGPAdvertisement
metadata: {name: a, namespace: metallb-system}
spec: {"aggregationLength":24,"serviceSelectors":[{"matchLabels":{"a":"b"}}]}
`,
    want: { kind: "BGPAdvertisement", name: "a", field: "spec.serviceSelectors", message: "serviceSelectors cannot be combined with aggregation (aggregationLength 24, aggregationLen" },
  },
  {
    title: "ad: localPref conflict on one pool",
    source: 'crs',
    yaml: `apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: v4, namespace: metallb-system}
spec: {"addresses":["192.0.2.0/24"]}
---
apiVersion: metallb.io/v1beta1
kind: BGPAdvertisement
metadata: {name: a, namespace: metallb-system}
spec: {"localPref":100}
---
apiVersion: metallb.io/v1beta1
kind: BGPAdvertisement
metadata: {name: b, namespace: metallb-system}
spec: {"localPref":200}
`,
    want: { kind: "BGPAdvertisement", name: "b", field: "spec.localPref", message: "localPref 200 conflicts with localPref 100 of BGPAdvertisement \"a\" for the same prefixes o" },
  },
  {
    title: "ad: standard community number out of range",
    source: 'crs',
    yaml: `apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: v4, namespace: metallb-system}
spec: {"addresses":["192.0.2.0/24"]}
---
apiVersion: metallb.io/v1beta1
kind: BGPAdvertisement
metadata: {name: a, namespace: metallb-system}
spec: {"communities":["65536:1"]}
`,
    want: { kind: "BGPAdvertisement", name: "a", field: "spec.communities[0]", message: "invalid community \"65536:1\": write a standard community as \"A:B\" (each 0-65535), a large o" },
  },
  {
    title: "ad: large community number out of range",
    source: 'crs',
    yaml: `apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: v4, namespace: metallb-system}
spec: {"addresses":["192.0.2.0/24"]}
---
apiVersion: metallb.io/v1beta1
kind: BGPAdvertisement
metadata: {name: a, namespace: metallb-system}
spec: {"communities":["large:4294967296:1:1"]}
`,
    want: { kind: "BGPAdvertisement", name: "a", field: "spec.communities[0]", message: "invalid large community \"large:4294967296:1:1\": write a standard community as \"A:B\" (each " },
  },
  {
    title: "ad: unknown community alias (transient)",
    source: 'crs',
    yaml: `apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: v4, namespace: metallb-system}
spec: {"addresses":["192.0.2.0/24"]}
---
apiVersion: metallb.io/v1beta1
kind: BGPAdvertisement
metadata: {name: a, namespace: metallb-system}
spec: {"communities":["gold"]}
`,
    want: { kind: "BGPAdvertisement", name: "a", field: "spec.communities[0]", message: "community alias \"gold\" is not defined (yet)", transient: true },
  },
  {
    title: "ad: duplicate community",
    source: 'crs',
    yaml: `apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: v4, namespace: metallb-system}
spec: {"addresses":["192.0.2.0/24"]}
---
apiVersion: metallb.io/v1beta1
kind: BGPAdvertisement
metadata: {name: a, namespace: metallb-system}
spec: {"communities":["64512:1","64512:1"]}
`,
    want: { kind: "BGPAdvertisement", name: "a", field: "spec.communities[1]", message: "duplicate definition of community \"64512:1\" (same as entry [0])" },
  },
  {
    title: "ad: duplicate peer",
    source: 'crs',
    yaml: `apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: v4, namespace: metallb-system}
spec: {"addresses":["192.0.2.0/24"]}
---
apiVersion: metallb.io/v1beta1
kind: BGPAdvertisement
metadata: {name: a, namespace: metallb-system}
spec: {"peers":["r1","r1"]}
`,
    want: { kind: "BGPAdvertisement", name: "a", field: "spec.peers[1]", message: "duplicate definition of peer \"r1\" (same as entry [0])" },
  },
  {
    title: "ad: duplicate ipAddressPools entry",
    source: 'crs',
    yaml: `apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: v4, namespace: metallb-system}
spec: {"addresses":["192.0.2.0/24"]}
---
apiVersion: metallb.io/v1beta1
kind: BGPAdvertisement
metadata: {name: a, namespace: metallb-system}
spec: {"ipAddressPools":["v4","v4"]}
`,
    want: { kind: "BGPAdvertisement", name: "a", field: "spec.ipAddressPools[1]", message: "duplicate definition of IPAddressPool \"v4\" (same as entry [0])" },
  },
  {
    title: "ad: aggregationLength 0",
    source: 'crs',
    yaml: `apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: v4, namespace: metallb-system}
spec: {"addresses":["192.0.2.0/24"]}
---
apiVersion: metallb.io/v1beta1
kind: BGPAdvertisement
metadata: {name: a, namespace: metallb-system}
spec: {"aggregationLength":0}
`,
    want: { kind: "BGPAdvertisement", name: "a", field: "spec.aggregationLength", message: "invalid value 0: must be a whole number in the 1-32 range" },
  },
  {
    title: "ad: localPref negative",
    source: 'crs',
    yaml: `apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: v4, namespace: metallb-system}
spec: {"addresses":["192.0.2.0/24"]}
---
apiVersion: metallb.io/v1beta1
kind: BGPAdvertisement
metadata: {name: a, namespace: metallb-system}
spec: {"localPref":-1}
`,
    want: { kind: "BGPAdvertisement", name: "a", field: "spec.localPref", message: "invalid value -1: must be a whole number in the 0-4294967295 range" },
  },
  {
    title: "ad: localPref above uint32",
    source: 'crs',
    yaml: `apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: v4, namespace: metallb-system}
spec: {"addresses":["192.0.2.0/24"]}
---
apiVersion: metallb.io/v1beta1
kind: BGPAdvertisement
metadata: {name: a, namespace: metallb-system}
spec: {"localPref":4294967296}
`,
    want: { kind: "BGPAdvertisement", name: "a", field: "spec.localPref", message: "invalid value 4294967296: must be a whole number in the 0-4294967295 range" },
  },
  {
    title: "peer: myASN missing",
    source: 'crs',
    yaml: `apiVersion: metallb.io/v1beta2
kind: BGPPeer
metadata: {name: r1, namespace: metallb-system}
spec: {"peerASN":64501,"peerAddress":"192.0.2.254"}
`,
    want: { kind: "BGPPeer", name: "r1", field: "spec.myASN", message: "missing local ASN" },
  },
  {
    title: "peer: neither peerASN nor dynamicASN",
    source: 'crs',
    yaml: `apiVersion: metallb.io/v1beta2
kind: BGPPeer
metadata: {name: r1, namespace: metallb-system}
spec: {"myASN":64500,"peerAddress":"192.0.2.254"}
`,
    want: { kind: "BGPPeer", name: "r1", field: "spec.peerASN", message: "missing peer ASN" },
  },
  {
    title: "peer: both peerASN and dynamicASN",
    source: 'crs',
    yaml: `apiVersion: metallb.io/v1beta2
kind: BGPPeer
metadata: {name: r1, namespace: metallb-system}
spec: {"myASN":64500,"peerASN":64501,"peerAddress":"192.0.2.254","dynamicASN":"external"}
`,
    want: { kind: "BGPPeer", name: "r1", field: "spec.dynamicASN", message: "both peerASN and dynamicASN are set" },
  },
  {
    title: "peer: dynamicASN not internal/external",
    source: 'crs',
    yaml: `apiVersion: metallb.io/v1beta2
kind: BGPPeer
metadata: {name: r1, namespace: metallb-system}
spec: {"myASN":64500,"dynamicASN":"sideways","peerAddress":"192.0.2.254"}
`,
    want: { kind: "BGPPeer", name: "r1", field: "spec.dynamicASN", message: "invalid dynamicASN \"sideways\"" },
  },
  {
    title: "peer: peerAddress not an IP",
    source: 'crs',
    yaml: `apiVersion: metallb.io/v1beta2
kind: BGPPeer
metadata: {name: r1, namespace: metallb-system}
spec: {"myASN":64500,"peerASN":64501,"peerAddress":"192.0.2.300"}
`,
    want: { kind: "BGPPeer", name: "r1", field: "spec.peerAddress", message: "\"192.0.2.300\" is not a valid IP address" },
  },
  {
    title: "peer: neither peerAddress nor interface",
    source: 'crs',
    yaml: `apiVersion: metallb.io/v1beta2
kind: BGPPeer
metadata: {name: r1, namespace: metallb-system}
spec: {"myASN":64500,"peerASN":64501}
`,
    want: { kind: "BGPPeer", name: "r1", field: "spec.peerAddress", message: "missing peer address" },
  },
  {
    title: "peer: both peerAddress and interface",
    source: 'crs',
    yaml: `apiVersion: metallb.io/v1beta2
kind: BGPPeer
metadata: {name: r1, namespace: metallb-system}
spec: {"myASN":64500,"peerASN":64501,"peerAddress":"192.0.2.254","interface":"eth1"}
`,
    want: { kind: "BGPPeer", name: "r1", field: "spec.interface", message: "both peerAddress and interface are set" },
  },
  {
    title: "peer: holdTime below 3s",
    source: 'crs',
    yaml: `apiVersion: metallb.io/v1beta2
kind: BGPPeer
metadata: {name: r1, namespace: metallb-system}
spec: {"myASN":64500,"peerASN":64501,"peerAddress":"192.0.2.254","holdTime":"2s"}
`,
    want: { kind: "BGPPeer", name: "r1", field: "spec.holdTime", message: "holdTime \"2s\" is 2s after rounding down to whole seconds" },
  },
  {
    title: "peer: holdTime not a duration",
    source: 'crs',
    yaml: `apiVersion: metallb.io/v1beta2
kind: BGPPeer
metadata: {name: r1, namespace: metallb-system}
spec: {"myASN":64500,"peerASN":64501,"peerAddress":"192.0.2.254","holdTime":"soon"}
`,
    want: { kind: "BGPPeer", name: "r1", field: "spec.holdTime", message: "invalid duration \"soon\"" },
  },
  {
    title: "peer: keepaliveTime above holdTime",
    source: 'crs',
    yaml: `apiVersion: metallb.io/v1beta2
kind: BGPPeer
metadata: {name: r1, namespace: metallb-system}
spec: {"myASN":64500,"peerASN":64501,"peerAddress":"192.0.2.254","holdTime":"30s","keepaliveTime":"60s"}
`,
    want: { kind: "BGPPeer", name: "r1", field: "spec.keepaliveTime", message: "keepaliveTime \"60s\" is longer than holdTime \"30s\"" },
  },
  {
    title: "peer: ebgpMultiHop on iBGP",
    source: 'crs',
    yaml: `apiVersion: metallb.io/v1beta2
kind: BGPPeer
metadata: {name: r1, namespace: metallb-system}
spec: {"myASN":64500,"peerASN":64500,"peerAddress":"192.0.2.254","ebgpMultiHop":true}
`,
    want: { kind: "BGPPeer", name: "r1", field: "spec.ebgpMultiHop", message: "ebgpMultiHop is set on an iBGP peer (peerASN equals myASN)" },
  },
  {
    title: "peer: routerID not an IP",
    source: 'crs',
    yaml: `apiVersion: metallb.io/v1beta2
kind: BGPPeer
metadata: {name: r1, namespace: metallb-system}
spec: {"myASN":64500,"peerASN":64501,"peerAddress":"192.0.2.254","routerID":"router-1"}
`,
    want: { kind: "BGPPeer", name: "r1", field: "spec.routerID", message: "\"router-1\" is not a valid IP address" },
  },
  {
    title: "peer: sourceAddress not an IP",
    source: 'crs',
    yaml: `apiVersion: metallb.io/v1beta2
kind: BGPPeer
metadata: {name: r1, namespace: metallb-system}
spec: {"myASN":64500,"peerASN":64501,"peerAddress":"192.0.2.254","sourceAddress":"10.0.0"}
`,
    want: { kind: "BGPPeer", name: "r1", field: "spec.sourceAddress", message: "\"10.0.0\" is not a valid IP address" },
  },
  {
    title: "peer: peerPort above 16384",
    source: 'crs',
    yaml: `apiVersion: metallb.io/v1beta2
kind: BGPPeer
metadata: {name: r1, namespace: metallb-system}
spec: {"myASN":64500,"peerASN":64501,"peerAddress":"192.0.2.254","peerPort":70000}
`,
    want: { kind: "BGPPeer", name: "r1", field: "spec.peerPort", message: "invalid value 70000: must be a whole number in the 1-16384 range" },
  },
  {
    title: "peer: password and passwordSecret",
    source: 'crs',
    yaml: `apiVersion: v1
kind: Secret
metadata: {name: s, namespace: metallb-system}
type: kubernetes.io/basic-auth
data: {"password":"cHc="}
---
apiVersion: metallb.io/v1beta2
kind: BGPPeer
metadata: {name: r1, namespace: metallb-system}
spec: {"myASN":64500,"peerASN":64501,"peerAddress":"192.0.2.254","password":"x","passwordSecret":{"name":"s","namespace":"metallb-system"}}
`,
    want: { kind: "BGPPeer", name: "r1", field: "spec.passwordSecret", message: "both password and passwordSecret are set" },
  },
  {
    title: "peer: passwordSecret of the wrong type",
    source: 'crs',
    yaml: `apiVersion: v1
kind: Secret
metadata: {name: s, namespace: metallb-system}
type: Opaque
data: {"password":"cHc="}
---
apiVersion: metallb.io/v1beta2
kind: BGPPeer
metadata: {name: r1, namespace: metallb-system}
spec: {"myASN":64500,"peerASN":64501,"peerAddress":"192.0.2.254","passwordSecret":{"name":"s","namespace":"metallb-system"}}
`,
    want: { kind: "BGPPeer", name: "r1", field: "spec.passwordSecret", message: "Secret \"metallb-system/s\" has type \"Opaque\"" },
  },
  {
    title: "peer: passwordSecret without password key",
    source: 'crs',
    yaml: `apiVersion: v1
kind: Secret
metadata: {name: s, namespace: metallb-system}
type: kubernetes.io/basic-auth
data: {"username":"dQ=="}
---
apiVersion: metallb.io/v1beta2
kind: BGPPeer
metadata: {name: r1, namespace: metallb-system}
spec: {"myASN":64500,"peerASN":64501,"peerAddress":"192.0.2.254","passwordSecret":{"name":"s","namespace":"metallb-system"}}
`,
    want: { kind: "BGPPeer", name: "r1", field: "spec.passwordSecret", message: "Secret \"metallb-system/s\" has no \"password\" key" },
  },
  {
    title: "peer: bfdProfile missing (transient)",
    source: 'crs',
    yaml: `apiVersion: metallb.io/v1beta2
kind: BGPPeer
metadata: {name: r1, namespace: metallb-system}
spec: {"myASN":64500,"peerASN":64501,"peerAddress":"192.0.2.254","bfdProfile":"fast"}
`,
    want: { kind: "BGPPeer", name: "r1", field: "spec.bfdProfile", message: "BFDProfile \"fast\" does not exist (yet)", transient: true },
  },
  {
    title: "peer: duplicate nodeSelectors",
    source: 'crs',
    yaml: `apiVersion: metallb.io/v1beta2
kind: BGPPeer
metadata: {name: r1, namespace: metallb-system}
spec: {"myASN":64500,"peerASN":64501,"peerAddress":"192.0.2.254","nodeSelectors":[{"matchLabels":{"a":"b"}},{"matchLabels":{"a":"b"}}]}
`,
    want: { kind: "BGPPeer", name: "r1", field: "spec.nodeSelectors[1]", message: "duplicate definition of selector (same as entry [0])" },
  },
  {
    title: "peer: myASN above uint32",
    source: 'crs',
    yaml: `apiVersion: metallb.io/v1beta2
kind: BGPPeer
metadata: {name: r1, namespace: metallb-system}
spec: {"myASN":4294967296,"peerASN":64501,"peerAddress":"192.0.2.254"}
`,
    want: { kind: "BGPPeer", name: "r1", field: "spec.myASN", message: "invalid value 4294967296: must be a whole number in the 0-4294967295 range" },
  },
  {
    title: "peer: myASN 0",
    source: 'crs',
    yaml: `apiVersion: metallb.io/v1beta2
kind: BGPPeer
metadata: {name: r1, namespace: metallb-system}
spec: {"myASN":0,"peerASN":64501,"peerAddress":"192.0.2.254"}
`,
    want: { kind: "BGPPeer", name: "r1", field: "spec.myASN", message: "missing local ASN" },
  },
  {
    title: "peer: secret missing with other secrets",
    source: 'crs',
    yaml: `apiVersion: v1
kind: Secret
metadata: {name: other, namespace: metallb-system}
type: kubernetes.io/basic-auth
data: {"password":"cHc="}
---
apiVersion: metallb.io/v1beta2
kind: BGPPeer
metadata: {name: r1, namespace: metallb-system}
spec: {"myASN":64500,"peerASN":64501,"peerAddress":"192.0.2.254","passwordSecret":{"name":"nope","namespace":"metallb-system"}}
`,
    want: { kind: "BGPPeer", name: "r1", field: "spec.passwordSecret.name", message: "Secret \"metallb-system/nope\" does not exist (yet)", transient: true },
  },
  {
    title: "peer: holdTime 2500ms",
    source: 'crs',
    yaml: `apiVersion: metallb.io/v1beta2
kind: BGPPeer
metadata: {name: r1, namespace: metallb-system}
spec: {"myASN":64500,"peerASN":64501,"peerAddress":"192.0.2.254","holdTime":"2500ms"}
`,
    want: { kind: "BGPPeer", name: "r1", field: "spec.holdTime", message: "holdTime \"2500ms\" is 2s after rounding down to whole seconds" },
  },
  {
    title: "bfd: receiveInterval below 10",
    source: 'crs',
    yaml: `apiVersion: metallb.io/v1beta1
kind: BFDProfile
metadata: {name: f, namespace: metallb-system}
spec: {"receiveInterval":5}
`,
    want: { kind: "BFDProfile", name: "f", field: "spec.receiveInterval", message: "invalid value 5: must be a whole number in the 10-60000 range" },
  },
  {
    title: "bfd: transmitInterval above 60000",
    source: 'crs',
    yaml: `apiVersion: metallb.io/v1beta1
kind: BFDProfile
metadata: {name: f, namespace: metallb-system}
spec: {"transmitInterval":60001}
`,
    want: { kind: "BFDProfile", name: "f", field: "spec.transmitInterval", message: "invalid value 60001: must be a whole number in the 10-60000 range" },
  },
  {
    title: "bfd: detectMultiplier below 2",
    source: 'crs',
    yaml: `apiVersion: metallb.io/v1beta1
kind: BFDProfile
metadata: {name: f, namespace: metallb-system}
spec: {"detectMultiplier":1}
`,
    want: { kind: "BFDProfile", name: "f", field: "spec.detectMultiplier", message: "invalid value 1: must be a whole number in the 2-255 range" },
  },
  {
    title: "bfd: echoInterval above 60000",
    source: 'crs',
    yaml: `apiVersion: metallb.io/v1beta1
kind: BFDProfile
metadata: {name: f, namespace: metallb-system}
spec: {"echoInterval":70000}
`,
    want: { kind: "BFDProfile", name: "f", field: "spec.echoInterval", message: "invalid value 70000: must be a whole number in the 10-60000 range" },
  },
  {
    title: "bfd: minimumTtl above 254",
    source: 'crs',
    yaml: `apiVersion: metallb.io/v1beta1
kind: BFDProfile
metadata: {name: f, namespace: metallb-system}
spec: {"minimumTtl":255}
`,
    want: { kind: "BFDProfile", name: "f", field: "spec.minimumTtl", message: "invalid value 255: must be a whole number in the 1-254 range" },
  },
  {
    title: "bfd: duplicate profile names",
    source: 'crs',
    yaml: `apiVersion: metallb.io/v1beta1
kind: BFDProfile
metadata: {name: f, namespace: metallb-system}
spec: {}
---
apiVersion: metallb.io/v1beta1
kind: BFDProfile
metadata: {name: f, namespace: metallb-system}
spec: {"detectMultiplier":5}
`,
    want: { kind: "BFDProfile", name: "f", field: "metadata.name", message: "duplicate BFDProfile name \"f\" (objects #0 and #1)" },
  },
  {
    title: "bfd: echo mode on a peer that gets IPv6 routes",
    source: 'crs',
    yaml: `apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: v6, namespace: metallb-system}
spec: {"addresses":["2001:db8::/120"]}
---
apiVersion: metallb.io/v1beta1
kind: BGPAdvertisement
metadata: {name: a, namespace: metallb-system}
spec: {}
---
apiVersion: metallb.io/v1beta1
kind: BFDProfile
metadata: {name: f, namespace: metallb-system}
spec: {"echoMode":true}
---
apiVersion: metallb.io/v1beta2
kind: BGPPeer
metadata: {name: r1, namespace: metallb-system}
spec: {"myASN":64500,"peerASN":64501,"peerAddress":"192.0.2.254","bfdProfile":"f"}
`,
    want: { kind: "BGPPeer", name: "r1", field: "spec.bfdProfile", message: "BFDProfile \"f\" has echoMode enabled, but this peer receives IPv6 addresses of IPAddressPoo" },
  },
  {
    title: "bfd: negative receive",
    source: 'crs',
    yaml: `apiVersion: metallb.io/v1beta1
kind: BFDProfile
metadata: {name: f, namespace: metallb-system}
spec: {"receiveInterval":-5}
`,
    want: { kind: "BFDProfile", name: "f", field: "spec.receiveInterval", message: "invalid value -5: must be a whole number in the 10-60000 range" },
  },
  {
    title: "community: value neither A:B nor large:A:B:C",
    source: 'crs',
    yaml: `apiVersion: metallb.io/v1beta1
kind: Community
metadata: {name: c, namespace: metallb-system}
spec: {"communities":[{"name":"gold","value":"1:2:3"}]}
`,
    want: { kind: "Community", name: "c", field: "spec.communities[0].value", message: "invalid community \"1:2:3\": write a standard community as \"A:B\" (each 0-65535), a large one" },
  },
  {
    title: "community: duplicate alias across objects",
    source: 'crs',
    yaml: `apiVersion: metallb.io/v1beta1
kind: Community
metadata: {name: c, namespace: metallb-system}
spec: {"communities":[{"name":"gold","value":"1:2"}]}
---
apiVersion: metallb.io/v1beta1
kind: Community
metadata: {name: d, namespace: metallb-system}
spec: {"communities":[{"name":"gold","value":"1:3"}]}
`,
    want: { kind: "Community", name: "d", field: "spec.communities[0].name", message: "duplicate definition of community alias \"gold\" (already defined in Community \"c\")" },
  },
  {
    title: "community: duplicate alias in one object",
    source: 'crs',
    yaml: `apiVersion: metallb.io/v1beta1
kind: Community
metadata: {name: c, namespace: metallb-system}
spec: {"communities":[{"name":"gold","value":"1:2"},{"name":"gold","value":"1:3"}]}
`,
    want: { kind: "Community", name: "c", field: "spec.communities[1].name", message: "duplicate definition of community alias \"gold\" (already defined earlier in this object)" },
  },
  {
    title: "legacy: unknown protocol",
    source: 'configmap',
    yaml: `address-pools:
- name: a
  protocol: ospf
  addresses: [192.0.2.0/24]
`,
    want: { kind: "ConfigMap", name: "config", field: "address-pools[0].protocol", message: "unknown protocol \"ospf\" in address pool \"a\"" },
  },
  {
    title: "legacy: missing protocol",
    source: 'configmap',
    yaml: `address-pools:
- name: a
  addresses: [192.0.2.0/24]
`,
    want: { kind: "ConfigMap", name: "config", field: "address-pools[0].protocol", message: "address pool \"a\" is missing the protocol field" },
  },
  {
    title: "legacy: removed protocol arp",
    source: 'configmap',
    yaml: `address-pools:
- name: a
  protocol: arp
  addresses: [192.0.2.0/24]
`,
    want: { kind: "ConfigMap", name: "config", field: "address-pools[0].protocol", message: "unknown protocol \"arp\" in address pool \"a\" (\"arp\" was replaced by layer2 in MetalLB 0.7)" },
  },
  {
    title: "legacy: bad YAML",
    source: 'configmap',
    yaml: `address-pools:
- name: a
   protocol: layer2
`,
    want: { kind: "ConfigMap", name: "config", field: "line 2, column 9", message: "invalid YAML: Nested mappings are not allowed in compact mappings at line 2, column 9:" },
  },
  {
    title: "legacy: alias without anchor",
    source: 'configmap',
    yaml: `address-pools:
- name: a
  protocol: *p
  addresses: [192.0.2.0/24]
`,
    want: { kind: "ConfigMap", name: "config", field: "(document)", message: "invalid YAML: Unresolved alias (the anchor must be set before the alias): p" },
  },
  {
    title: "legacy: duplicate pool names",
    source: 'configmap',
    yaml: `address-pools:
- name: a
  protocol: layer2
  addresses: [192.0.2.0/25]
- name: a
  protocol: layer2
  addresses: [192.0.2.128/25]
`,
    want: { kind: "IPAddressPool", name: "a", field: "metadata.name", message: "duplicate IPAddressPool name \"a\" (objects #0 and #1)" },
  },
  {
    title: "legacy: bgp-advertisements on a layer2 pool",
    source: 'configmap',
    yaml: `address-pools:
- name: a
  protocol: layer2
  addresses: [192.0.2.0/24]
  bgp-advertisements:
  - localpref: 1
`,
    want: { kind: "ConfigMap", name: "config", field: "address-pools[0].bgp-advertisements", message: "address pool \"a\" has protocol layer2 but lists bgp-advertisements" },
  },
  {
    title: "legacy: hold-time not a duration",
    source: 'configmap',
    yaml: `peers:
- peer-address: 192.0.2.254
  peer-asn: 1
  my-asn: 2
  hold-time: soon
`,
    want: { kind: "ConfigMap", name: "config", field: "peers[0].hold-time", message: "invalid duration \"soon\"" },
  },
  {
    title: "legacy: unknown peer field",
    source: 'configmap',
    yaml: `peers:
- peer-adress: 192.0.2.254
`,
    want: { kind: "ConfigMap", name: "config", field: "peers[0]", message: "unknown field \"peer-adress\"" },
  },
  {
    title: "legacy: address-pools not a list",
    source: 'configmap',
    yaml: `address-pools:
  name: a
`,
    want: { kind: "ConfigMap", name: "config", field: "address-pools", message: "expected a YAML list, got a mapping" },
  },
  {
    title: "legacy: pool without name",
    source: 'configmap',
    yaml: `address-pools:
- protocol: bgp
  addresses: [192.0.2.0/24]
`,
    want: { kind: "ConfigMap", name: "config", field: "address-pools[0].name", message: "address pool is missing the name field" },
  },
  {
    title: "legacy: bad CIDR",
    source: 'configmap',
    yaml: `address-pools:
- name: a
  protocol: layer2
  addresses: [192.0.2.0/40]
`,
    want: { kind: "IPAddressPool", name: "a", field: "spec.addresses[0]", message: "invalid CIDR \"192.0.2.0/40\"" },
  },
  {
    title: "legacy: overlapping pools",
    source: 'configmap',
    yaml: `address-pools:
- name: a
  protocol: layer2
  addresses: [192.0.2.0/24]
- name: b
  protocol: bgp
  addresses: [192.0.2.0/25]
`,
    want: { kind: "IPAddressPool", name: "b", field: "spec.addresses[0]", message: "CIDR \"192.0.2.0/25\" overlaps with CIDR \"192.0.2.0/24\" in pool \"a\"" },
  },
  {
    title: "legacy: hold-time below 3s",
    source: 'configmap',
    yaml: `peers:
- peer-address: 192.0.2.254
  peer-asn: 1
  my-asn: 2
  hold-time: 1500ms
`,
    want: { kind: "BGPPeer", name: "peer1", field: "spec.holdTime", message: "holdTime \"1s\" is 1s after rounding down to whole seconds" },
  },
  {
    title: "legacy: unknown community alias",
    source: 'configmap',
    yaml: `address-pools:
- name: a
  protocol: bgp
  addresses: [192.0.2.0/24]
  bgp-advertisements:
  - communities: [gold]
`,
    want: { kind: "BGPAdvertisement", name: "bgpadvertisement1", field: "spec.communities[0]", message: "community alias \"gold\" is not defined (yet)", transient: true },
  },
  {
    title: "legacy: bad bgp-communities value",
    source: 'configmap',
    yaml: `bgp-communities:
  gold: 1:2:3
`,
    want: { kind: "Community", name: "communities", field: "spec.communities[0].value", message: "invalid community \"1:2:3\": write a standard community as \"A:B\" (each 0-65535), a large one" },
  },
  {
    title: "legacy: aggregation-length wider than the pool",
    source: 'configmap',
    yaml: `address-pools:
- name: a
  protocol: bgp
  addresses: [192.0.2.0/24]
  bgp-advertisements:
  - aggregation-length: 8
`,
    want: { kind: "BGPAdvertisement", name: "bgpadvertisement1", field: "spec.aggregationLength", message: "aggregationLength 8 is shorter than prefix /24 of address entry \"192.0.2.0/24\" in IPAddres" },
  },
  {
    title: "legacy: peer missing my-asn",
    source: 'configmap',
    yaml: `peers:
- peer-address: 192.0.2.254
  peer-asn: 1
`,
    want: { kind: "BGPPeer", name: "peer1", field: "spec.myASN", message: "missing local ASN" },
  },
  {
    title: "legacy: bfd profile out of range",
    source: 'configmap',
    yaml: `bfd-profiles:
- name: f
  detect-multiplier: 300
`,
    want: { kind: "BFDProfile", name: "f", field: "spec.detectMultiplier", message: "invalid value 300: must be a whole number in the 2-255 range" },
  },
  {
    title: "legacy: duplicate bfd profiles",
    source: 'configmap',
    yaml: `bfd-profiles:
- name: f
- name: f
`,
    want: { kind: "BFDProfile", name: "f", field: "metadata.name", message: "duplicate BFDProfile name \"f\" (objects #0 and #1)" },
  },
  {
    title: "legacy: unknown bfd-profile on a peer (transient)",
    source: 'configmap',
    yaml: `peers:
- peer-address: 192.0.2.254
  peer-asn: 1
  my-asn: 2
  bfd-profile: nope
`,
    want: { kind: "BGPPeer", name: "peer1", field: "spec.bfdProfile", message: "BFDProfile \"nope\" does not exist (yet)", transient: true },
  },
];

describe('catalogue of refused configurations', () => {
  it('holds at least 40 entries with distinct titles', () => {
    expect(CATALOGUE.length).toBeGreaterThanOrEqual(40);
    expect(new Set(CATALOGUE.map((c) => c.title)).size).toBe(CATALOGUE.length);
  });

  it.each(CATALOGUE.map((c) => [c.title, c] as const))('%s', (_title, c) => {
    const { errors } = refusals(c.source, c.yaml);
    expect(errors.length, 'the input was accepted').toBeGreaterThan(0);
    const first = errors[0]!;
    expect({ kind: first.kind, name: first.name, field: first.field }).toEqual({ kind: c.want.kind, name: c.want.name, field: c.want.field });
    expect(first.message).toContain(c.want.message);
    expect(first.transient ?? false, 'transient flag').toBe(c.want.transient ?? false);
    // Errors name the object and the field, and say what to do: a diagnosis, then the fix.
    for (const e of errors) expect(e.message, JSON.stringify(e)).toMatch(/.{10,}/);
  });

  it('the same rules hold when the bad object comes with good ones (atomic refusal)', () => {
    const good = `apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {name: good, namespace: ${NS}}\nspec: {addresses: [203.0.113.0/24]}\n`;
    for (const c of CATALOGUE.filter((x) => x.source === 'crs' && !x.yaml.includes('203.0.113.'))) {
      const { errors } = refusals('crs', `${good}---\n${c.yaml}`);
      // An object without a name is called by its position ("#0"), which shifts by one here.
      const name = c.want.name.startsWith('#') ? `#${Number(c.want.name.slice(1)) + 1}` : c.want.name;
      expect(errors.some((e) => e.kind === c.want.kind && e.name === name && e.field === c.want.field), c.title).toBe(true);
    }
  });
});

describe('inputs the spec says are NOT errors (kept here so that nobody "fixes" them into refusals)', () => {
  it('an L2Advertisement naming a pool that does not exist is accepted; the name is ignored (spec 1.2)', () => {
    const yaml = `apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {name: a, namespace: ${NS}}\nspec: {addresses: [192.0.2.0/24]}\n---\napiVersion: metallb.io/v1beta1\nkind: L2Advertisement\nmetadata: {name: l, namespace: ${NS}}\nspec: {ipAddressPools: [missing]}\n`;
    expect(refusals('crs', yaml).errors).toEqual([]);
  });

  it('an unknown spec field is not refused: the API server prunes it before MetalLB reads the object', () => {
    const yaml = `apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {name: a, namespace: ${NS}}\nspec: {addresses: [192.0.2.0/24], adresses: [x]}\n`;
    expect(refusals('crs', yaml).errors).toEqual([]);
  });

  it('passwordSecret with no Secrets known to the parser (offline validation) is a warning, not an error', () => {
    const yaml = `apiVersion: metallb.io/v1beta2\nkind: BGPPeer\nmetadata: {name: r1, namespace: ${NS}}\nspec: {myASN: 64500, peerASN: 64501, peerAddress: 192.0.2.254, passwordSecret: {name: s, namespace: ${NS}}}\n`;
    const out = refusals('crs', yaml);
    expect(out.errors).toEqual([]);
    expect(out.warnings.map((w) => w.field)).toContain('spec.passwordSecret');
  });

  it('holdTime 0 (no keepalives) is accepted (spec 1.4: 0 or >= 3s)', () => {
    const yaml = `apiVersion: metallb.io/v1beta2\nkind: BGPPeer\nmetadata: {name: r1, namespace: ${NS}}\nspec: {myASN: 64500, peerASN: 64501, peerAddress: 192.0.2.254, holdTime: 0s}\n`;
    expect(refusals('crs', yaml).errors).toEqual([]);
  });
});
