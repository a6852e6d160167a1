// The controller against a real kube-apiserver, running as its own ServiceAccount.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { projectRoot } from '../../src/lab/projectRoot.js';
import {
  apply, createNamespace, deleteNamespace, eventsFor, ingressIps, ironlbStatus, kubectl, kubectlJson, lbService, resetConfig,
  startController, waitFor, type RunningController,
} from './harness.js';

const NS = `ironlb-ctl-${process.pid}`;
const scenario = (...p: string[]) => readFileSync(join(projectRoot(), 'e2e', 'scenarios', ...p), 'utf8');

function pool(name: string, addresses: string[], extra = ''): string {
  return `apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata:
  name: ${name}
  namespace: metallb-system
spec:
  addresses:
${addresses.map((a) => `  - ${a}`).join('\n')}
${extra}`;
}

function ipToNumber(ip: string): number {
  return ip.split('.').reduce((n, o) => n * 256 + Number(o), 0);
}

describe('controller on a real API server', () => {
  let ctl: RunningController;

  beforeAll(() => {
    resetConfig();
    createNamespace(NS);
    ctl = startController();
  });

  afterEach((ctx) => {
    if (ctx.task.result?.state === 'fail') process.stderr.write(`--- controller log (tail) ---\n${ctl.logText().split('\n').slice(-40).join('\n')}\n`);
  });

  afterAll(async () => {
    await ctl?.stop();
    kubectl(['-n', NS, 'delete', 'svc', '--all', '--wait=false']);
    deleteNamespace(NS);
    resetConfig();
  });

  test('seed-002 IPAddressPool + L2Advertisement applied verbatim: the seed Service gets an IP from 10.180.204.250-254', async () => {
    kubectl(['apply', '-f', '-'], scenario('kube-ovn-seed', 'pool.yaml'));
    kubectl(['-n', NS, 'apply', '-f', '-'], scenario('kube-ovn-seed', 'service.yaml'));
    const ips = await waitFor('nginx-lb ingress', () => {
      const ips = ingressIps(NS, 'nginx-lb');
      return ips.length ? ips : undefined;
    });
    expect(ips).toHaveLength(1); // PreferDualStack, but the pool has only IPv4
    const n = ipToNumber(ips[0]!);
    expect(n).toBeGreaterThanOrEqual(ipToNumber('10.180.204.250'));
    expect(n).toBeLessThanOrEqual(ipToNumber('10.180.204.254'));
    // The annotation is patched beside the status, so it may land just after the IP shows.
    expect(await waitFor('pool annotation', () => kubectlJson<any>(['-n', NS, 'get', 'svc', 'nginx-lb']).metadata.annotations?.['metallb.io/ip-allocated-from-pool'])).toBe('underlay-pool');
    const ev = await waitFor('IPAllocated event', () => eventsFor(NS, 'nginx-lb').find((e) => e.reason === 'IPAllocated'));
    expect(ev.message).toContain(ips[0]);
    // Pool status counters written by the controller.
    const st = await waitFor('pool status', () => {
      const p = kubectlJson<any>(['-n', 'metallb-system', 'get', 'ipaddresspool', 'underlay-pool']);
      return p.status?.assignedIPv4 === 1 ? p.status : undefined;
    });
    expect(st.availableIPv4).toBe(4);
  });

  test('requested IP: spec.loadBalancerIP and metallb.io/loadBalancerIPs get exactly that IP', async () => {
    apply(lbService('req-spec', { loadBalancerIP: '10.180.204.254' }), NS);
    apply(lbService('req-ann', { annotations: { 'metallb.io/loadBalancerIPs': '10.180.204.253' } }), NS);
    expect(await waitFor('req-spec ip', () => ingressIps(NS, 'req-spec')[0])).toBe('10.180.204.254');
    expect(await waitFor('req-ann ip', () => ingressIps(NS, 'req-ann')[0])).toBe('10.180.204.253');
  });

  test('sharing: same allow-shared-ip key and disjoint ports share one IP; a port clash does not', async () => {
    const shared = { 'metallb.io/allow-shared-ip': 'web', 'metallb.io/loadBalancerIPs': '10.180.204.252' };
    apply(lbService('share-a', { annotations: shared, ports: [{ port: 80 }] }), NS);
    apply(lbService('share-b', { annotations: shared, ports: [{ port: 443 }] }), NS);
    apply(lbService('share-c', { annotations: shared, ports: [{ port: 80 }] }), NS);
    expect(await waitFor('share-a ip', () => ingressIps(NS, 'share-a')[0])).toBe('10.180.204.252');
    expect(await waitFor('share-b ip', () => ingressIps(NS, 'share-b')[0])).toBe('10.180.204.252');
    const ev = await waitFor('share-c AllocationFailed', () => eventsFor(NS, 'share-c').find((e) => e.reason === 'AllocationFailed'));
    expect(ev.type).toBe('Warning');
    expect(ev.message).toMatch(/port TCP\/80 is already in use/);
    expect(ingressIps(NS, 'share-c')).toEqual([]);
    kubectl(['-n', NS, 'delete', 'svc', 'share-c']);
  });

  test('pool exhausted: a clear AllocationFailed event names the problem', async () => {
    // nginx-lb, req-spec, req-ann, share-a/b hold 4 distinct IPs of 5: one left, then none.
    apply(lbService('fill-1'), NS);
    await waitFor('fill-1 ip', () => ingressIps(NS, 'fill-1')[0]);
    apply(lbService('fill-2'), NS);
    const ev = await waitFor('fill-2 AllocationFailed', () => eventsFor(NS, 'fill-2').find((e) => e.reason === 'AllocationFailed'));
    expect(ev.type).toBe('Warning');
    expect(ev.message).toMatch(/no available IPs/);
    expect(ev.message).toContain(`${NS}/fill-2`);
    expect(ingressIps(NS, 'fill-2')).toEqual([]);
    // Pool status is written coalesced, shortly after the allocations.
    const st = await waitFor('pool status shows the pool full', () => {
      const s = kubectlJson<any>(['-n', 'metallb-system', 'get', 'ipaddresspool', 'underlay-pool']).status;
      return s?.availableIPv4 === 0 ? s : undefined;
    });
    expect(st.assignedIPv4).toBe(5);
    // `ironlb status` says why, in plain words, with the controller's message behind it.
    const status = ironlbStatus(`${NS}/fill-2`);
    expect(status.services).toHaveLength(1);
    expect(status.services[0]).toMatchObject({ service: `${NS}/fill-2`, state: 'problem', ips: [] });
    expect(status.services[0]!.reason).toMatch(/^pool exhausted/);
    expect(status.services[0]!.detail).toMatch(/no available IPs/);
    process.stderr.write(`[controller e2e] ironlb status read the cluster in ${status.tookMs} ms\n`);
  });

  test('invalid pool is reported on the object and the last good configuration keeps serving', async () => {
    apply(pool('bad-overlap', ['10.180.204.254/32']));
    const ev = await waitFor('InvalidConfiguration event on bad-overlap', () =>
      kubectlJson<any>(['-n', 'metallb-system', 'get', 'events', '--field-selector', 'involvedObject.name=bad-overlap']).items.find((e: any) => e.reason === 'InvalidConfiguration'));
    expect(ev.type).toBe('Warning');
    expect(ev.note ?? ev.message).toMatch(/overlap/i);
    const state = await waitFor('ConfigurationState Invalid', () => {
      const s = kubectlJson<any>(['-n', 'metallb-system', 'get', 'configurationstates', 'controller']);
      return s.status?.result === 'Invalid' ? s : undefined;
    });
    expect(state.status.errorSummary).toContain('bad-overlap');
    // Still serving: existing IPs untouched, and a freed IP is still handed out from the old config.
    expect(ingressIps(NS, 'nginx-lb')).toHaveLength(1);
    kubectl(['-n', NS, 'delete', 'svc', 'fill-1']);
    expect(await waitFor('fill-2 gets the freed IP', () => ingressIps(NS, 'fill-2')[0])).toMatch(/^10\.180\.204\./);
    kubectl(['-n', 'metallb-system', 'delete', 'ipaddresspool', 'bad-overlap']);
    await waitFor('ConfigurationState Valid', () => kubectlJson<any>(['-n', 'metallb-system', 'get', 'configurationstates', 'controller']).status?.result === 'Valid');
  });

  test('pool removed: its Services are reassigned from the remaining pool, with ClearAssignment', async () => {
    apply(pool('second', ['203.0.113.10-203.0.113.20']));
    await waitFor('ConfigurationState Valid', () => kubectlJson<any>(['-n', 'metallb-system', 'get', 'configurationstates', 'controller']).status?.result === 'Valid');
    // Requested IPs of the deleted pool cannot be honoured: those Services lose their IP.
    kubectl(['-n', NS, 'delete', 'svc', 'req-spec', 'req-ann', 'share-a', 'share-b']);
    kubectl(['-n', 'metallb-system', 'delete', 'ipaddresspool', 'underlay-pool']);
    const ip = await waitFor('nginx-lb moved to pool second', () => {
      const ips = ingressIps(NS, 'nginx-lb');
      return ips[0]?.startsWith('203.0.113.') ? ips[0] : undefined;
    });
    expect(ipToNumber(ip)).toBeGreaterThanOrEqual(ipToNumber('203.0.113.10'));
    expect(await waitFor('pool annotation second', () => {
      const pool = kubectlJson<any>(['-n', NS, 'get', 'svc', 'nginx-lb']).metadata.annotations?.['metallb.io/ip-allocated-from-pool'];
      return pool === 'second' ? pool : undefined;
    })).toBe('second');
    expect(await waitFor('fill-2 moved', () => ingressIps(NS, 'fill-2')[0]?.startsWith('203.0.113.') || undefined)).toBe(true);
    const ev = await waitFor('ClearAssignment', () => eventsFor(NS, 'nginx-lb').find((e) => e.reason === 'ClearAssignment'));
    expect(ev.message).toContain('not allowed by config');
    kubectl(['-n', NS, 'delete', 'svc', 'nginx-lb', 'fill-2']);
    kubectl(['-n', 'metallb-system', 'delete', 'ipaddresspool', 'second']);
  });

  test('legacy ConfigMap from seed 003 is honoured (layer2 pool and an auto-assign=false BGP pool)', async () => {
    resetConfig();
    kubectl(['apply', '-f', '-'], scenario('seed-003', 'configmap.yaml'));
    apply(lbService('legacy-auto'), NS);
    apply(lbService('legacy-bgp', { annotations: { 'metallb.universe.tf/address-pool': 'bgp-pool' } }), NS);
    const auto = await waitFor('legacy-auto ip', () => ingressIps(NS, 'legacy-auto')[0]);
    expect(auto).toBe('10.10.8.200');
    const bgp = await waitFor('legacy-bgp ip', () => ingressIps(NS, 'legacy-bgp')[0]);
    expect(bgp).toBe('198.51.100.0'); // MetalLB walks from the first address of the CIDR
    const dep = await waitFor('deprecatedAnnotation event', () => eventsFor(NS, 'legacy-bgp').find((e) => e.reason === 'deprecatedAnnotation'));
    expect(dep.message).toContain('metallb.universe.tf/address-pool');
    kubectl(['-n', NS, 'delete', 'svc', 'legacy-auto', 'legacy-bgp']);
    resetConfig();
  });
});

describe('controller restart', () => {
  const RNS = `ironlb-restart-${process.pid}`;
  afterAll(() => {
    kubectl(['-n', RNS, 'delete', 'svc', '--all', '--wait=false']);
    deleteNamespace(RNS);
    resetConfig();
  });

  test('restarting the controller with 200 Services changes nothing', async () => {
    resetConfig();
    createNamespace(RNS);
    apply(pool('restart-pool', ['198.51.100.0/24']));
    let ctl = startController();
    try {
      const docs: string[] = [];
      for (let i = 0; i < 200; i++) {
        // A mix: shared IPs, requested IPs and plain ones, so restart has to rebuild sharing too.
        const annotations: Record<string, string> = {};
        if (i % 10 === 0) annotations['metallb.io/allow-shared-ip'] = `k${i % 30}`;
        if (i === 7) annotations['metallb.io/loadBalancerIPs'] = '198.51.100.250';
        docs.push(lbService(`svc-${i}`, { annotations, ports: [{ port: 1000 + i }] }));
      }
      apply(docs.join('---\n'), RNS);
      await waitFor('200 services assigned', () => {
        const list = kubectlJson<any>(['-n', RNS, 'get', 'svc']).items as any[];
        return list.length === 200 && list.every((s) => s.status?.loadBalancer?.ingress?.length === 1) ? true : undefined;
      }, 120_000);
    } finally {
      await ctl.stop();
    }
    const before = new Map<string, { rv: string; ip: string }>();
    for (const s of kubectlJson<any>(['-n', RNS, 'get', 'svc']).items as any[]) {
      before.set(s.metadata.name, { rv: s.metadata.resourceVersion, ip: s.status.loadBalancer.ingress[0].ip });
    }
    expect(new Set([...before.values()].map((v) => v.ip)).size).toBeLessThan(200); // some sharing happened
    expect(before.get('svc-7')?.ip).toBe('198.51.100.250');
    const eventsBefore = kubectlJson<any>(['-n', RNS, 'get', 'events']).items.length;

    ctl = startController();
    try {
      await waitFor('initial full pass', () => ctl.logText().includes('initial full pass done'), 60_000);
      await new Promise((r) => setTimeout(r, 2000)); // let any stray write land, so it would be seen
      const after = kubectlJson<any>(['-n', RNS, 'get', 'svc']).items as any[];
      const changed = after.filter((s) => before.get(s.metadata.name)?.rv !== s.metadata.resourceVersion).map((s) => s.metadata.name);
      expect(changed).toEqual([]);
      expect(after.map((s) => s.status.loadBalancer.ingress[0].ip).sort()).toEqual([...before.values()].map((v) => v.ip).sort());
      expect(kubectlJson<any>(['-n', RNS, 'get', 'events']).items.length).toBe(eventsBefore);
    } finally {
      await ctl.stop();
    }
  }, 300_000);
});
