import { describe, expect, it } from 'vitest';
import type { ResolveWarning } from '../../src/vlan/resolve.js';
import {
  DEFAULT_VERIFY_AFTER_MS, kubeOvnNotProgrammed, strictArpRequired, verifyUnderlayServices,
  type AnnouncedUnderlayService, type VerificationInput,
} from '../../src/vlan/verification.js';

const svc = (over: Partial<AnnouncedUnderlayService> = {}): AnnouncedUnderlayService => ({
  service: 'default/nginx-lb', ips: ['10.180.204.250'], subnet: 'underlay-subnet', subnetAnnotation: undefined, announcingSinceMs: 1_000, ...over,
});

const input = (over: Partial<VerificationInput> = {}): VerificationInput => ({
  nodeName: 'node-1', nowMs: 1_000, verifyAfterMs: DEFAULT_VERIFY_AFTER_MS, services: [svc()], interfaceWarnings: () => [], host: { kubeIpvs0: false, arpIgnore: '0' }, ...over,
});

const NOT_PROGRAMMED = 'Kube-OVN did not associate 10.180.204.250 with subnet "underlay-subnet"; check that the IP is inside spec.cidrBlock and kube-ovn-controller is running';

describe('kubeOvnNotProgrammed (spec 6.3)', () => {
  it('waits until verifyAfterMs have passed since the announcement started', () => {
    expect(kubeOvnNotProgrammed(svc(), 1_000 + 29_999, 30_000)).toBe('wait');
    expect(kubeOvnNotProgrammed(svc(), 1_000 + 30_000, 30_000)).toEqual({ reason: 'KubeOVNNotProgrammed', message: NOT_PROGRAMMED });
  });

  it('is silent once the annotation names the subnet, and warns when it names another one', () => {
    expect(kubeOvnNotProgrammed(svc({ subnetAnnotation: 'underlay-subnet' }), 100_000, 30_000)).toBeUndefined();
    expect(kubeOvnNotProgrammed(svc({ subnetAnnotation: 'other' }), 100_000, 30_000)).toMatchObject({ reason: 'KubeOVNNotProgrammed' });
  });

  it('names every IP of a dual-stack Service', () => {
    const w = kubeOvnNotProgrammed(svc({ ips: ['10.180.204.250', '2001:db8::250'] }), 100_000, 30_000);
    expect(w).not.toBe('wait');
    expect((w as { message: string }).message).toContain('10.180.204.250, 2001:db8::250 with subnet');
  });
});

describe('strictArpRequired (spec 6.3 host hygiene)', () => {
  it('warns only with kube-ipvs0 and arp_ignore other than 1', () => {
    expect(strictArpRequired('node-1', { kubeIpvs0: true, arpIgnore: '0' })).toEqual({
      reason: 'StrictARPRequired',
      message: expect.stringMatching(/^node node-1: kube-ipvs0 exists .*\.all\.arp_ignore is 0, .*strictARP: true/),
    });
    expect(strictArpRequired('node-1', { kubeIpvs0: true, arpIgnore: '2' })?.message).toContain('arp_ignore is 2');
    expect(strictArpRequired('node-1', { kubeIpvs0: true, arpIgnore: '1\n' })).toBeUndefined();
    expect(strictArpRequired('node-1', { kubeIpvs0: false, arpIgnore: '0' })).toBeUndefined();
    expect(strictArpRequired('node-1', { kubeIpvs0: true, arpIgnore: undefined })).toBeUndefined();
    expect(strictArpRequired('node-1', undefined)).toBeUndefined();
  });
});

describe('verifyUnderlayServices', () => {
  it('before the deadline: no KubeOVNNotProgrammed, and the next check is the earliest deadline', () => {
    const r = verifyUnderlayServices(input({ nowMs: 5_000, services: [svc({ announcingSinceMs: 4_000 }), svc({ service: 'default/b', announcingSinceMs: 2_000 })] }));
    expect(r.byService.size).toBe(0);
    expect(r.nextCheckAtMs).toBe(2_000 + DEFAULT_VERIFY_AFTER_MS);
  });

  it('after the deadline: the warning, and nothing more to wait for', () => {
    const r = verifyUnderlayServices(input({ nowMs: 31_000 }));
    expect(r.byService.get('default/nginx-lb')).toEqual([{ reason: 'KubeOVNNotProgrammed', message: NOT_PROGRAMMED }]);
    expect(r.nextCheckAtMs).toBeUndefined();
  });

  it('an annotated Service has nothing to wait for', () => {
    const r = verifyUnderlayServices(input({ services: [svc({ subnetAnnotation: 'underlay-subnet' })] }));
    expect(r.byService.size).toBe(0);
    expect(r.nextCheckAtMs).toBeUndefined();
  });

  it('surfaces the interface warnings of the Service\'s own subnet, and the host warning, per Service', () => {
    const localnet: ResolveWarning = { reason: 'LocalnetPortMissing', message: 'node node-1: patch-localnet.underlay-subnet-to-br-int not present' };
    const ll: ResolveWarning = { reason: 'NoIPv6LinkLocal', message: 'no link-local' };
    const r = verifyUnderlayServices(input({
      services: [svc({ subnetAnnotation: 'underlay-subnet' }), svc({ service: 'default/v6', subnet: 'v6-subnet', subnetAnnotation: 'v6-subnet' })],
      interfaceWarnings: (s) => (s === 'underlay-subnet' ? [localnet] : [ll]),
      host: { kubeIpvs0: true, arpIgnore: '0' },
    }));
    expect(r.byService.get('default/nginx-lb')?.map((w) => w.reason)).toEqual(['LocalnetPortMissing', 'StrictARPRequired']);
    expect(r.byService.get('default/nginx-lb')?.[0]).toEqual(localnet);
    expect(r.byService.get('default/v6')?.map((w) => w.reason)).toEqual(['NoIPv6LinkLocal', 'StrictARPRequired']);
  });

  it('no announced Service: no warnings at all, even on a host that needs strict ARP', () => {
    const r = verifyUnderlayServices(input({ services: [], host: { kubeIpvs0: true, arpIgnore: '0' } }));
    expect(r.byService.size).toBe(0);
  });
});
