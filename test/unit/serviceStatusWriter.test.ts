// The pure plan behind ServiceL2Status / ServiceBGPStatus objects: one object per announced Service.
import { describe, expect, it } from 'vitest';
import { planStatusWrites, statusBody, type StatusObject } from '../../src/speaker/serviceStatusWriter.js';

const obj = (name: string, service: string, status?: Record<string, unknown>): StatusObject => {
  const [ns, svc] = service.split('/') as [string, string];
  return { metadata: { name, labels: { 'metallb.io/node': 'n1', 'metallb.io/service-name': svc, 'metallb.io/service-namespace': ns } }, ...(status ? { status } : {}) };
};

describe('planStatusWrites', () => {
  it('creates one object per new Service with node and Service names in the status', () => {
    const plan = planStatusWrites('n1', new Map([['default/web', {}], ['ns2/api', { peers: ['r1'] }]]), []);
    expect(plan.deletes).toEqual([]);
    expect(plan.patches).toEqual([]);
    expect(plan.creates).toEqual([
      { key: 'default/web', status: { node: 'n1', serviceName: 'web', serviceNamespace: 'default' } },
      { key: 'ns2/api', status: { node: 'n1', serviceName: 'api', serviceNamespace: 'ns2', peers: ['r1'] } },
    ]);
  });

  it('writes nothing when the objects already say what is desired', () => {
    const desired = new Map([['default/web', { interfaces: [{ name: 'eth0' }] }]]);
    const plan = planStatusWrites('n1', desired, [obj('l2-a', 'default/web', statusBody('n1', 'default/web', { interfaces: [{ name: 'eth0' }] }))]);
    expect(plan).toEqual({ deletes: [], creates: [], patches: [] });
  });

  it('patches a differing status, deletes duplicates and objects of Services no longer announced', () => {
    const plan = planStatusWrites('n1', new Map([['default/web', {}]]), [
      obj('l2-a', 'default/web', { node: 'n1', serviceName: 'web', serviceNamespace: 'default', interfaces: [{ name: 'eth1' }] }),
      obj('l2-b', 'default/web'),
      obj('l2-c', 'default/gone', {}),
    ]);
    expect(plan.patches).toEqual([{ key: 'default/web', name: 'l2-a', status: { node: 'n1', serviceName: 'web', serviceNamespace: 'default' } }]);
    expect(plan.deletes).toEqual([{ key: 'default/web', name: 'l2-b' }, { key: 'default/gone', name: 'l2-c' }]);
    expect(plan.creates).toEqual([]);
  });
});
