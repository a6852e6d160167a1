import { describe, expect, it } from 'vitest';
import { emptyResources, type ConfigResources } from '../../src/config/resources.js';
import { admissionReviewResponse, reviewAdmission, type AdmissionRequest } from '../../src/webhook/admission.js';

const NS = 'metallb-system';

function pool(name: string, addresses: string[], namespace = NS) {
  return { apiVersion: 'metallb.io/v1beta1', kind: 'IPAddressPool', metadata: { name, namespace }, spec: { addresses } };
}
function peer(name: string, spec: Record<string, unknown>) {
  return { apiVersion: 'metallb.io/v1beta2', kind: 'BGPPeer', metadata: { name, namespace: NS }, spec: { myASN: 64512, peerASN: 64513, peerAddress: '192.0.2.1', ...spec } };
}
function bfd(name: string) {
  return { apiVersion: 'metallb.io/v1beta1', kind: 'BFDProfile', metadata: { name, namespace: NS }, spec: {} };
}

let seq = 0;
function request(operation: AdmissionRequest['operation'], obj: any, version = 'v1beta1'): AdmissionRequest {
  const kind = { group: 'metallb.io', version, kind: obj.kind as string };
  const base = { uid: `uid-${++seq}`, kind, name: obj.metadata.name as string, namespace: obj.metadata.namespace as string, operation };
  return operation === 'DELETE' ? { ...base, oldObject: obj } : { ...base, object: obj };
}

function resources(parts: Partial<ConfigResources>): ConfigResources {
  return { ...emptyResources(), ...parts };
}

describe('admission decision', () => {
  const current = resources({ pools: [pool('first', ['192.0.2.0/28'])] });

  it('accepts a valid new pool and echoes the uid', () => {
    const req = request('CREATE', pool('second', ['198.51.100.0/24']));
    const res = reviewAdmission(req, { namespace: NS, current });
    expect(res).toEqual({ uid: req.uid, allowed: true });
  });

  it('refuses a pool that overlaps an existing one, naming object, field and fix', () => {
    const res = reviewAdmission(request('CREATE', pool('second', ['192.0.2.8-192.0.2.20'])), { namespace: NS, current });
    expect(res.allowed).toBe(false);
    expect(res.status?.code).toBe(422);
    expect(res.status?.message).toMatch(/^IPAddressPool "second": spec\.addresses\[0\]: .*overlaps.*in pool "first".*disjoint/);
  });

  it('an UPDATE replaces the object by name: a pool does not overlap its former self', () => {
    const res = reviewAdmission(request('UPDATE', pool('first', ['192.0.2.0/27'])), { namespace: NS, current });
    expect(res.allowed).toBe(true);
  });

  it('refuses syntax errors of the submitted object', () => {
    const res = reviewAdmission(request('CREATE', pool('bad', ['192.0.2.300/32'])), { namespace: NS, current });
    expect(res.allowed).toBe(false);
    expect(res.status?.message).toContain('IPAddressPool "bad": spec.addresses[0]');
  });

  it('refuses a bad BGPPeer and accepts a good one (v1beta1 and v1beta2)', () => {
    const bad = reviewAdmission(request('CREATE', peer('p1', { peerAddress: 'not-an-ip' }), 'v1beta2'), { namespace: NS, current });
    expect(bad.allowed).toBe(false);
    expect(bad.status?.message).toMatch(/BGPPeer "p1": spec\.peerAddress/);
    const hold = reviewAdmission(request('CREATE', peer('p2', { holdTime: '1s' }), 'v1beta2'), { namespace: NS, current });
    expect(hold.allowed).toBe(false);
    expect(hold.status?.message).toContain('BGPPeer "p2": spec.holdTime');
    const good = reviewAdmission(request('CREATE', { ...peer('p3', {}), apiVersion: 'metallb.io/v1beta1' }), { namespace: NS, current });
    expect(good).toMatchObject({ allowed: true });
  });

  it('a reference to a BFDProfile or Secret that does not exist yet is a warning, not a refusal', () => {
    const res = reviewAdmission(request('CREATE', peer('p1', { bfdProfile: 'later' }), 'v1beta2'), { namespace: NS, current });
    expect(res.allowed).toBe(true);
    expect(res.warnings).toEqual([expect.stringMatching(/^BGPPeer "p1": spec\.bfdProfile: BFDProfile "later" does not exist/)]);
  });

  it('refuses deleting a BFDProfile a peer uses, and allows it once unused', () => {
    const withPeers = resources({ bfdProfiles: [bfd('fast'), bfd('idle')], bgpPeers: [peer('a', { bfdProfile: 'fast' }), peer('b', { bfdProfile: 'fast' })] });
    const refused = reviewAdmission(request('DELETE', bfd('fast')), { namespace: NS, current: withPeers });
    expect(refused.allowed).toBe(false);
    expect(refused.status?.message).toBe('BFDProfile "fast" is used by BGPPeer "a", "b" (spec.bfdProfile); remove or change spec.bfdProfile of those peers first, then delete the profile');
    expect(reviewAdmission(request('DELETE', bfd('idle')), { namespace: NS, current: withPeers }).allowed).toBe(true);
    // Deleting pools (even used ones) is never blocked, like MetalLB.
    expect(reviewAdmission(request('DELETE', pool('first', ['192.0.2.0/28'])), { namespace: NS, current }).allowed).toBe(true);
  });

  it('an error elsewhere that existed before does not block an unrelated change, but a new one does', () => {
    const broken = resources({ pools: [pool('a', ['192.0.2.0/28']), pool('b', ['192.0.2.0/29'])] }); // b overlaps a already
    expect(reviewAdmission(request('CREATE', pool('c', ['203.0.113.0/24'])), { namespace: NS, current: broken }).allowed).toBe(true);
    // Updating the broken object itself must fix it.
    const still = reviewAdmission(request('UPDATE', pool('b', ['192.0.2.0/30'])), { namespace: NS, current: broken });
    expect(still.allowed).toBe(false);
    expect(reviewAdmission(request('UPDATE', pool('b', ['203.0.113.0/30'])), { namespace: NS, current: broken }).allowed).toBe(true);
    // A change that makes another object invalid is refused: this L2Advertisement is fine, but
    // removing... (here: a community alias used by an advertisement, defined twice)
    const withAlias = resources({
      communities: [{ apiVersion: 'metallb.io/v1beta1', kind: 'Community', metadata: { name: 'c1', namespace: NS }, spec: { communities: [{ name: 'no-export', value: '65535:65281' }] } }],
    });
    const dup = reviewAdmission(
      request('CREATE', { apiVersion: 'metallb.io/v1beta1', kind: 'Community', metadata: { name: 'c2', namespace: NS }, spec: { communities: [{ name: 'no-export', value: '65535:65282' }] } }),
      { namespace: NS, current: withAlias },
    );
    expect(dup.allowed).toBe(false);
    expect(dup.status?.message).toMatch(/no-export/);
  });

  it('refuses configuration outside the configured namespace', () => {
    const res = reviewAdmission(request('CREATE', pool('elsewhere', ['203.0.113.0/24'], 'default')), { namespace: NS, current });
    expect(res.allowed).toBe(false);
    expect(res.status?.message).toContain('create it in "metallb-system"');
  });

  it('wraps the decision in an AdmissionReview and rejects bodies that are not one', () => {
    const req = request('CREATE', pool('second', ['198.51.100.0/24']));
    const review = admissionReviewResponse({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: req }, { namespace: NS, current });
    expect(review).toEqual({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: req.uid, allowed: true } });
    expect(() => admissionReviewResponse({ kind: 'Something' }, { namespace: NS, current })).toThrow(/AdmissionReview/);
    // A kind that is not ours is let through with a warning.
    const other = reviewAdmission({ ...req, kind: { group: '', version: 'v1', kind: 'ConfigMap' } }, { namespace: NS, current });
    expect(other.allowed).toBe(true);
    expect(other.warnings?.[0]).toMatch(/does not validate/);
  });
});
