// `ironlb status`: the plain-words reason for each Service state, from API-server facts.
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/index.js';
import { classifyAllocationError, explainServices, type StatusInputs, type ServiceInput } from '../../src/status/explain.js';

function config(extra: { l2?: boolean; bgp?: boolean; nodeSelector?: Record<string, string> } = {}) {
  const pool = { apiVersion: 'metallb.io/v1beta1', kind: 'IPAddressPool', metadata: { name: 'lan', namespace: 'metallb-system' }, spec: { addresses: ['192.0.2.200-192.0.2.209'] } };
  const sel = extra.nodeSelector ? { nodeSelectors: [{ matchLabels: extra.nodeSelector }] } : {};
  const l2 = extra.l2 === false ? [] : [{ apiVersion: 'metallb.io/v1beta1', kind: 'L2Advertisement', metadata: { name: 'l2', namespace: 'metallb-system' }, spec: { ipAddressPools: ['lan'], ...sel } }];
  const out = parseConfig({ pools: [pool], l2Advertisements: l2, bgpAdvertisements: [], bgpPeers: [], bfdProfiles: [], communities: [] });
  if (!out.ok) throw new Error(JSON.stringify(out.errors));
  return { ok: true as const, config: out.config };
}

const svc = (over: Partial<ServiceInput> = {}): ServiceInput => ({ key: 'default/web', type: 'LoadBalancer', ingressIps: ['192.0.2.200'], externalTrafficPolicyLocal: false, labels: {}, ...over });
const node = (name: string, over: Partial<{ ready: boolean; labels: Record<string, string>; networkUnavailable: boolean }> = {}) => ({ name, labels: { 'kubernetes.io/hostname': name }, networkUnavailable: false, ready: true, ...over });

function inputs(over: Partial<StatusInputs> = {}): StatusInputs {
  return {
    services: [svc()], events: [], config: config(), poolConditions: [], announcers: [],
    endpoints: new Map([['default/web', [{ nodeName: 'n1', serving: true }]]]), nodes: [node('n1'), node('n2')], ...over,
  };
}

describe('explainServices', () => {
  it('ok: the announcing node and interface', () => {
    const [r] = explainServices(inputs({ announcers: [{ service: 'default/web', node: 'n1', protocol: 'layer2', interfaces: ['eth0'] }] }));
    expect(r).toMatchObject({ service: 'default/web', state: 'ok', pool: 'lan', ips: ['192.0.2.200'], announcers: [{ node: 'n1', protocol: 'layer2', interfaces: ['eth0'] }] });
  });

  it('no IP: classifies the latest allocation warning and keeps the raw message', () => {
    const events = [
      { service: 'default/web', type: 'Warning', reason: 'AllocationFailed', message: 'Failed to allocate IP for "default/web": port 80 is already in use on "192.0.2.200"', at: 1 },
      { service: 'default/web', type: 'Warning', reason: 'AllocationFailed', message: 'Failed to allocate IP for "default/web": no available IPs in pool "lan" for IPv4 IPFamily', at: 2 },
    ];
    const [r] = explainServices(inputs({ services: [svc({ ingressIps: [] })], events }));
    expect(r!.state).toBe('problem');
    expect(r!.reason).toMatch(/^pool exhausted/);
    expect(r!.detail).toContain('no available IPs in pool "lan"');
  });

  it('no IP: an invalid configuration is named before anything else', () => {
    const [r] = explainServices(inputs({ services: [svc({ ingressIps: [] })], controllerState: { result: 'Invalid', errorSummary: 'IPAddressPool "x": spec.addresses[0]: overlaps' } }));
    expect(r!.reason).toMatch(/configuration is invalid/);
    expect(r!.detail).toContain('overlaps');
  });

  it('no IP and no warning: the controller may not be running', () => {
    expect(explainServices(inputs({ services: [svc({ ingressIps: [] })] }))[0]!.state).toBe('pending');
  });

  it('IP but no ready endpoint', () => {
    const [r] = explainServices(inputs({ endpoints: new Map([['default/web', [{ nodeName: 'n1', serving: false }]]]) }));
    expect(r!.reason).toMatch(/^no ready endpoint/);
  });

  it('IP but the pool has no advertisement', () => {
    expect(explainServices(inputs({ config: config({ l2: false }) }))[0]!.reason).toMatch(/has no L2Advertisement or BGPAdvertisement/);
  });

  it('IP but no eligible node (selectors), and Local with pods only on ineligible nodes', () => {
    expect(explainServices(inputs({ config: config({ nodeSelector: { role: 'edge' } }) }))[0]!.reason).toMatch(/^no eligible node/);
    const local = explainServices(inputs({
      services: [svc({ externalTrafficPolicyLocal: true })],
      nodes: [node('n1', { labels: { 'node.kubernetes.io/exclude-from-external-load-balancers': '' } }), node('n2')],
    }))[0]!;
    expect(local.reason).toMatch(/externalTrafficPolicy Local: the ready pods run on n1, none of which is eligible/);
  });

  it('two layer-2 announcers is a problem (split membership)', () => {
    const [r] = explainServices(inputs({ announcers: ['n1', 'n2'].map((n) => ({ service: 'default/web', node: n, protocol: 'layer2' as const })) }));
    expect(r!.state).toBe('problem');
    expect(r!.reason).toMatch(/2 nodes announce it/);
  });

  it('another loadBalancerClass is ignored, non-LoadBalancer Services are not listed', () => {
    const reports = explainServices(inputs({ services: [svc({ loadBalancerClass: 'other' }), svc({ key: 'default/cip', type: 'ClusterIP' })] }));
    expect(reports).toHaveLength(1);
    expect(reports[0]!.state).toBe('ignored');
  });

  it('classifyAllocationError covers the allocator messages', () => {
    expect(classifyAllocationError('no available IPs; no IPAddressPool with autoAssign that admits service "a/b" has a free address')).toMatch(/^no pool matches/);
    expect(classifyAllocationError('["10.0.0.1"] is not allowed in config (not in any pool)')).toMatch(/not in any IPAddressPool/);
    expect(classifyAllocationError('metallb.io/allow-shared-ip "a" differs from "b"')).toMatch(/^sharing conflict/);
    expect(classifyAllocationError('something new')).toBe('the controller could not allocate an IP');
  });
});

describe('auto-assign failures', () => {
  const msg = 'Failed to allocate IP for "default/web": no available IPs; no IPAddressPool with autoAssign that admits service "default/web" has a free IPv4 address (add addresses to a pool or free an IP)';
  const failing = (poolAvailable?: Map<string, number>) => explainServices(inputs({
    services: [svc({ ingressIps: [] })], events: [{ service: 'default/web', type: 'Warning', reason: 'AllocationFailed', message: msg, at: 1 }],
    ...(poolAvailable ? { poolAvailable } : {}),
  }))[0]!;
  it('every autoAssign pool full: pool exhausted', () => {
    expect(failing(new Map([['lan', 0]])).reason).toMatch(/^pool exhausted: every autoAssign pool \(lan\) is full/);
  });
  it('free addresses left: the pools do not admit it', () => {
    expect(failing(new Map([['lan', 3]])).reason).toMatch(/^no pool matches/);
  });
});
