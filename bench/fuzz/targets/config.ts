// Configuration input: the legacy ConfigMap YAML (legacyToResources, then parseConfig like the real
// path) and metallb.io CR objects (parseConfig). Both return outcomes and must never throw.
import { legacyToResources } from '../../../src/config/legacy.js';
import { parseConfig } from '../../../src/config/parse.js';
import type { ConfigResources } from '../../../src/config/resources.js';
import { mutateJson, randomJson, type Json } from '../json.js';
import type { Rng } from '../random.js';
import { InvariantViolation, type FuzzTarget } from '../target.js';

const NS = 'metallb-system';
const meta = (name: string) => ({ name, namespace: NS });
const cr = (kind: string, name: string, spec: Json, apiVersion = 'metallb.io/v1beta1'): Json => ({ apiVersion, kind, metadata: meta(name), spec });

const VALID: ConfigResources = {
  pools: [
    cr('IPAddressPool', 'a', { addresses: ['192.0.2.0/24', '198.51.100.10-198.51.100.20', '2001:db8::/120'], autoAssign: true, avoidBuggyIPs: false }),
    cr('IPAddressPool', 'b', { addresses: ['203.0.113.0/28'], serviceAllocation: { priority: 10, namespaces: ['web'], serviceSelectors: [{ matchLabels: { app: 'x' } }] } }),
  ],
  l2Advertisements: [cr('L2Advertisement', 'l2', { ipAddressPools: ['a'], interfaces: ['eth0'], nodeSelectors: [{ matchExpressions: [{ key: 'k', operator: 'In', values: ['v'] }] }] })],
  bgpAdvertisements: [cr('BGPAdvertisement', 'ad', { ipAddressPools: ['b'], aggregationLength: 28, localPref: 100, communities: ['64512:1', 'large:1:2:3', 'no-export'], peers: ['r1'] })],
  bgpPeers: [
    cr('BGPPeer', 'r1', { myASN: 64512, peerASN: 64513, peerAddress: '192.0.2.254', holdTime: '90s', keepaliveTime: '30s', bfdProfile: 'fast', ebgpMultiHop: true }, 'metallb.io/v1beta2'),
    cr('BGPPeer', 'r2', { myASN: 64512, dynamicASN: 'external', peerAddress: '2001:db8::fe', passwordSecret: { name: 's', namespace: NS } }, 'metallb.io/v1beta2'),
  ],
  bfdProfiles: [cr('BFDProfile', 'fast', { receiveInterval: 300, transmitInterval: 300, detectMultiplier: 3, echoInterval: 50, echoMode: false, passiveMode: false, minimumTtl: 254 })],
  communities: [cr('Community', 'c', { communities: [{ name: 'no-export', value: '65535:65281' }, { name: 'big', value: 'large:1:2:3' }] })],
  secrets: [{ name: 's', namespace: NS, type: 'kubernetes.io/basic-auth', data: { password: Buffer.from('pw').toString('base64') } }],
  nodes: [{ name: 'n1', labels: { k: 'v' } }],
};
const LISTS = ['pools', 'l2Advertisements', 'bgpAdvertisements', 'bgpPeers', 'bfdProfiles', 'communities'] as const;
const CR_KEYS = ['apiVersion', 'kind', 'metadata', 'spec', 'name', 'namespace', 'addresses', 'autoAssign', 'avoidBuggyIPs', 'serviceAllocation', 'priority', 'namespaces', 'ipAddressPools', 'ipAddressPoolSelectors', 'nodeSelectors', 'interfaces', 'aggregationLength', 'aggregationLengthV6', 'localPref', 'communities', 'peers', 'myASN', 'peerASN', 'dynamicASN', 'peerAddress', 'holdTime', 'keepaliveTime', 'bfdProfile', 'ebgpMultiHop', 'passwordSecret', 'password', 'receiveInterval', 'detectMultiplier', 'echoMode', 'value', 'matchLabels', 'matchExpressions', 'key', 'operator', 'values'];

interface CrInput {
  readonly resources: Json;
}

export const configCrTarget: FuzzTarget<CrInput> = {
  name: 'config.crs',
  covers: 'parseConfig on random and mutated metallb.io CR sets (all six kinds, secrets, nodes)',
  generate(rng) {
    let v = JSON.parse(JSON.stringify(VALID)) as Record<string, Json>;
    if (rng.chance(0.1)) {
      // whole lists replaced by random values
      for (const l of LISTS) if (rng.chance(0.3)) v[l] = [randomJson(rng, 4, CR_KEYS)];
    }
    for (let i = rng.range(1, 4); i > 0; i--) {
      const list = rng.pick(LISTS);
      v = { ...v, [list]: mutateJson(rng, v[list]!, CR_KEYS) };
    }
    // parseConfig's input type says arrays; keep that, everything inside is fair game.
    for (const l of LISTS) if (!Array.isArray(v[l])) v[l] = [v[l]!];
    return { resources: v };
  },
  run({ resources }) {
    const out = parseConfig(resources as unknown as ConfigResources);
    if (!out.ok) {
      if (!out.errors.length) throw new InvariantViolation('refused with no error');
      for (const e of out.errors) if (typeof e.message !== 'string' || !e.message || typeof e.field !== 'string') throw new InvariantViolation(`error without message/field: ${JSON.stringify(e)}`);
      return 'rejected';
    }
    return 'accepted';
  },
  show: ({ resources }) => JSON.stringify(resources),
};

const LEGACY = `peers:
- peer-address: 192.0.2.254
  peer-asn: 64513
  my-asn: 64512
  peer-port: 179
  hold-time: 90s
  keepalive-time: 30s
  router-id: 192.0.2.1
  password: secret
  bfd-profile: fast
  ebgp-multihop: true
  node-selectors:
  - match-labels:
      rack: a
    match-expressions:
    - key: zone
      operator: In
      values: [z1, z2]
address-pools:
- name: bgp-pool
  protocol: bgp
  addresses:
  - 198.51.100.0/24
  - 203.0.113.10-203.0.113.20
  avoid-buggy-ips: true
  auto-assign: false
  bgp-advertisements:
  - aggregation-length: 32
    aggregation-length-v6: 128
    localpref: 100
    communities: [64512:1, no-export, large:1:2:3]
- name: l2
  protocol: layer2
  addresses: [192.0.2.0/26, 2001:db8::/120]
bgp-communities:
  no-export: 65535:65281
bfd-profiles:
- name: fast
  receive-interval: 300
  transmit-interval: 300
  detect-multiplier: 3
  echo-interval: 50
  echo-mode: false
  passive-mode: false
  minimum-ttl: 254
`;
const LINES = LEGACY.split('\n');
const TOKENS = ['', ' ', '  ', '- ', ':', ': ', '[', ']', '{', '}', '&a', '*a', '!!str', '!!binary', '|', '>', '"', "'", '#', '---', '...', '%YAML 1.2', '0x10', '1e9', '-1', '~', 'null', 'yes', 'bgp', 'layer2', 'foo', '192.0.2.0/33', '10.0.0.5-10.0.0.1', '999999999999', '1.5', 'peers', 'address-pools', 'name', 'protocol', 'addresses'];

function legacyInput(rng: Rng): string {
  const r = rng.int(20);
  if (r === 0) return Buffer.from(rng.bytes(rng.length(200))).toString('latin1');
  if (r === 1) return LEGACY;
  if (r === 2) {
    // alias fan-out ("billion laughs") must be bounded by the YAML reader
    const n = rng.range(2, 12);
    let s = 'a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n';
    for (let i = 1; i < n; i++) s += `a${i}: &a${i} [${Array(10).fill(`*a${i - 1}`).join(', ')}]\n`;
    return s + `peers: *a${n - 1}\n`;
  }
  const lines = [...LINES];
  for (let i = rng.range(1, 5); i > 0; i--) {
    const at = rng.int(lines.length);
    const line = lines[at] ?? '';
    switch (rng.int(7)) {
      case 0: lines.splice(at, 1); break;
      case 1: lines.splice(at, 0, line); break; // repeated key / list entry
      case 2: lines[at] = ' '.repeat(rng.int(6)) + line.trimStart(); break; // indentation
      case 3: lines[at] = line.replace(/:\s.*$/, `: ${rng.pick(TOKENS)}`); break; // value replaced
      case 4: { const p = rng.int(line.length + 1); lines[at] = line.slice(0, p) + rng.pick(TOKENS) + line.slice(p); break; }
      case 5: lines.splice(at, 0, ...lines.slice(rng.int(lines.length), rng.int(lines.length))); break; // block repeated
      default: lines[at] = line.slice(0, rng.int(line.length + 1)); // truncated
    }
  }
  return lines.join('\n');
}

export const configLegacyTarget: FuzzTarget<string> = {
  name: 'config.legacy',
  covers: 'legacyToResources on random and mutated ConfigMap YAML, then parseConfig on what it produced',
  generate: legacyInput,
  run(text) {
    const out = legacyToResources(text, NS);
    if (!out.ok) {
      if (!out.errors.length) throw new InvariantViolation('refused with no error');
      return 'rejected';
    }
    return parseConfig(out.resources).ok ? 'accepted' : 'rejected';
  },
  show: (t) => JSON.stringify(t),
};
