import type { V1Service } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import {
  ANNOTATION_ALLOCATED_FROM_POOL,
  annotationKey,
  currentSpellingOf,
  legacyAnnotationKey,
  legacyPrefixedKeys,
  readAnnotation,
  readMetallbAnnotations,
} from '../../src/controller/annotations.js';
import {
  backendKeyOf,
  ingressIpsOf,
  ipListFamily,
  isHandledByUs,
  readClusterIps,
  requestedIps,
  serviceFacts,
  serviceKey,
} from '../../src/controller/serviceFacts.js';

function svc(over: { annotations?: Record<string, string>; labels?: Record<string, string>; spec?: V1Service['spec']; status?: V1Service['status'] } = {}): V1Service {
  return {
    metadata: { name: 'web', namespace: 'shop', annotations: over.annotations, labels: over.labels },
    spec: { type: 'LoadBalancer', clusterIPs: ['10.96.0.10'], ...over.spec },
    status: over.status,
  };
}

describe('annotation table and prefix rule', () => {
  it('spells every MetalLB annotation with both prefixes', () => {
    expect(annotationKey('addressPool')).toBe('metallb.io/address-pool');
    expect(annotationKey('loadBalancerIPs')).toBe('metallb.io/loadBalancerIPs');
    expect(annotationKey('allowSharedIp')).toBe('metallb.io/allow-shared-ip');
    expect(ANNOTATION_ALLOCATED_FROM_POOL).toBe('metallb.io/ip-allocated-from-pool');
    expect(legacyAnnotationKey('addressPool')).toBe('metallb.universe.tf/address-pool');
    expect(currentSpellingOf('metallb.universe.tf/allow-shared-ip')).toBe('metallb.io/allow-shared-ip');
  });

  it('reads the new key, falling back to the legacy key only when the new one is absent', () => {
    expect(readAnnotation({ 'metallb.io/address-pool': 'a', 'metallb.universe.tf/address-pool': 'b' }, 'addressPool')).toEqual({
      value: 'a',
      key: 'metallb.io/address-pool',
      fromLegacyKey: false,
    });
    // A present but empty new key wins over the legacy one.
    expect(readAnnotation({ 'metallb.io/address-pool': '', 'metallb.universe.tf/address-pool': 'b' }, 'addressPool').value).toBe('');
    expect(readAnnotation({ 'metallb.universe.tf/address-pool': 'b' }, 'addressPool')).toEqual({
      value: 'b',
      key: 'metallb.universe.tf/address-pool',
      fromLegacyKey: true,
    });
    expect(readAnnotation(undefined, 'addressPool').value).toBeUndefined();
  });

  it('reports which legacy keys were used and every legacy-prefixed key', () => {
    const annotations = {
      'metallb.universe.tf/allow-shared-ip': 'k',
      'metallb.universe.tf/address-pool': 'old',
      'metallb.io/address-pool': 'new',
      'metallb.universe.tf/something-else': 'x',
    };
    const read = readMetallbAnnotations(annotations);
    expect(read.addressPool.value).toBe('new');
    expect(read.allowSharedIp.value).toBe('k');
    expect(read.legacyKeysUsed).toEqual(['metallb.universe.tf/allow-shared-ip']);
    expect(legacyPrefixedKeys(annotations)).toEqual([
      'metallb.universe.tf/address-pool',
      'metallb.universe.tf/allow-shared-ip',
      'metallb.universe.tf/something-else',
    ]);
  });
});

describe('serviceKey, cluster IPs and family', () => {
  it('keys a service as namespace/name', () => {
    expect(serviceKey(svc())).toBe('shop/web');
  });

  it('takes the family from clusterIPs, falling back to clusterIP; headless is no IP', () => {
    expect(readClusterIps(svc({ spec: { clusterIPs: ['10.0.0.1', 'fd00::1'] } }))).toMatchObject({ kind: 'ok', family: 'dual', families: [4, 6] });
    expect(readClusterIps(svc({ spec: { clusterIPs: ['fd00::1', '10.0.0.1'] } }))).toMatchObject({ kind: 'ok', family: 'dual', families: [6, 4] });
    expect(readClusterIps(svc({ spec: { clusterIPs: [], clusterIP: 'fd00::1' } }))).toMatchObject({ kind: 'ok', family: 6 });
    expect(readClusterIps(svc({ spec: { clusterIPs: undefined, clusterIP: 'None' } }))).toEqual({ kind: 'none' });
    expect(readClusterIps(svc({ spec: { clusterIPs: ['None'] } }))).toEqual({ kind: 'none' });
    expect(readClusterIps(svc({ spec: { clusterIPs: undefined } }))).toEqual({ kind: 'none' });
    const same = readClusterIps(svc({ spec: { clusterIPs: ['10.0.0.1', '10.0.0.2'] } }));
    expect(same.kind).toBe('invalid');
    expect(same.kind === 'invalid' && same.error).toMatch(/same address family/);
  });

  it('classifies IP lists like MetalLB ipfamily', () => {
    expect(ipListFamily(['1.2.3.4'])).toEqual({ ok: true, family: 4 });
    expect(ipListFamily(['1000::'])).toEqual({ ok: true, family: 6 });
    expect(ipListFamily(['1.2.3.4', '1000::'])).toEqual({ ok: true, family: 'dual' });
    expect(ipListFamily(['1.2.3.4', '1.2.3.5']).ok).toBe(false);
    expect(ipListFamily(['1.2.3.4', '1.2.3.5', '1000::']).ok).toBe(false);
    expect(ipListFamily(['nope']).ok).toBe(false);
    expect(ipListFamily([]).ok).toBe(false);
  });

  it('ignores hostname-only ingress entries', () => {
    expect(ingressIpsOf(svc({ status: { loadBalancer: { ingress: [{ hostname: 'lb.example' }, { ip: '1.2.3.4' }] } } }))).toEqual(['1.2.3.4']);
    expect(ingressIpsOf(svc())).toEqual([]);
  });
});

describe('serviceFacts', () => {
  it('fills the allocator view with MetalLB defaults', () => {
    const f = serviceFacts(svc({ labels: { team: 'a' }, spec: { ports: [{ port: 80 }, { port: 53, protocol: 'UDP' }] } }), { env: 'prod' });
    expect(f).toEqual({
      key: 'shop/web',
      namespace: 'shop',
      labels: { team: 'a' },
      namespaceLabels: { env: 'prod' },
      clusterIpFamilies: [4],
      ipFamilyPolicy: 'SingleStack',
      primaryFamily: 4,
      sharingKey: '',
      backendKey: '',
      ports: [
        { protocol: 'TCP', port: 80 },
        { protocol: 'UDP', port: 53 },
      ],
    });
  });

  it('reads policy, primary family and sharing key (legacy spelling too)', () => {
    const f = serviceFacts(
      svc({
        annotations: { 'metallb.universe.tf/allow-shared-ip': 'dns' },
        spec: { clusterIPs: ['fd00::1', '10.0.0.1'], ipFamilies: ['IPv6', 'IPv4'], ipFamilyPolicy: 'PreferDualStack' },
      }),
      {},
    );
    expect(f.clusterIpFamilies).toEqual([6, 4]);
    expect(f.ipFamilyPolicy).toBe('PreferDualStack');
    expect(f.primaryFamily).toBe(6);
    expect(f.sharingKey).toBe('dns');
  });

  it('builds the backend key from the selector only for externalTrafficPolicy Local', () => {
    const selector = { tier: 'web', app: 'shop' };
    expect(backendKeyOf(svc({ spec: { externalTrafficPolicy: 'Local', selector } }))).toBe('app=shop,tier=web');
    expect(backendKeyOf(svc({ spec: { externalTrafficPolicy: 'Cluster', selector } }))).toBe('');
    expect(backendKeyOf(svc({ spec: { selector } }))).toBe('');
    expect(backendKeyOf(svc({ spec: { externalTrafficPolicy: 'Local' } }))).toBe('');
  });
});

describe('requestedIps', () => {
  it('is empty when nothing is requested', () => {
    expect(requestedIps(svc())).toEqual({ ok: true, ips: [], family: undefined, field: undefined });
  });

  it('parses the annotation list (trimmed, canonical) and spec.loadBalancerIP', () => {
    expect(requestedIps(svc({ annotations: { 'metallb.io/loadBalancerIPs': ' 1.2.3.4 , 1000:0::1 ' } }))).toEqual({
      ok: true,
      ips: ['1.2.3.4', '1000::1'],
      family: 'dual',
      field: 'metallb.io/loadBalancerIPs',
    });
    expect(requestedIps(svc({ annotations: { 'metallb.universe.tf/loadBalancerIPs': '1.2.3.4' } }))).toMatchObject({
      ok: true,
      ips: ['1.2.3.4'],
      field: 'metallb.universe.tf/loadBalancerIPs',
    });
    expect(requestedIps(svc({ spec: { loadBalancerIP: '1000::5' } }))).toEqual({ ok: true, ips: ['1000::5'], family: 6, field: 'spec.loadBalancerIP' });
  });

  it('rejects what MetalLB rejects, naming the field', () => {
    const err = (s: V1Service): string => {
      const r = requestedIps(s);
      return r.ok ? 'ok' : r.error;
    };
    expect(err(svc({ annotations: { 'metallb.io/loadBalancerIPs': '1.2.3.4' }, spec: { loadBalancerIP: '1.2.3.4' } }))).toMatch(
      /^service can not have both metallb.io\/loadBalancerIPs and svc.Spec.LoadBalancerIP/,
    );
    expect(err(svc({ annotations: { 'metallb.io/loadBalancerIPs': 'please' } }))).toMatch(/^invalid metallb.io\/loadBalancerIPs: "please"/);
    expect(err(svc({ annotations: { 'metallb.io/loadBalancerIPs': '1.2.3.4,' } }))).toMatch(/^invalid metallb.io\/loadBalancerIPs/);
    expect(err(svc({ annotations: { 'metallb.io/loadBalancerIPs': '1.2.3.1,1.2.3.2' } }))).toMatch(/same address family/);
    expect(err(svc({ annotations: { 'metallb.io/loadBalancerIPs': '1.2.3.1,1000::1,1000::2' } }))).toMatch(/invalid ips length 3/);
    expect(err(svc({ spec: { loadBalancerIP: '1.2.3' } }))).toMatch(/^invalid spec.loadBalancerIP "1.2.3"/);
  });

  it('lets an empty new-prefix annotation hide the legacy one', () => {
    expect(
      requestedIps(svc({ annotations: { 'metallb.io/loadBalancerIPs': '', 'metallb.universe.tf/loadBalancerIPs': '1.2.3.4' } })),
    ).toMatchObject({ ok: true, ips: [] });
  });
});

describe('isHandledByUs (spec.loadBalancerClass vs --lb-class)', () => {
  const withClass = (c?: string): V1Service => svc({ spec: { loadBalancerClass: c } });
  it('without --lb-class handles only services without a class', () => {
    expect(isHandledByUs(withClass(undefined))).toBe(true);
    expect(isHandledByUs(withClass('example.com/other'))).toBe(false);
  });
  it('with --lb-class handles only that exact class', () => {
    expect(isHandledByUs(withClass('metallb.io/ironlb'), 'metallb.io/ironlb')).toBe(true);
    expect(isHandledByUs(withClass('metallb.io/other'), 'metallb.io/ironlb')).toBe(false);
    expect(isHandledByUs(withClass(undefined), 'metallb.io/ironlb')).toBe(false);
  });
});
