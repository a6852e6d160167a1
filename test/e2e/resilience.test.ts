// The controller survives the API server going away (watches break, resourceVersions expire)
// and repairs state that others overwrite.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { restartLabProcess } from '../../src/lab/lab.js';
import { apply, createNamespace, deleteNamespace, ingressIps, kubectl, kubectlJson, lab, lbService, resetConfig, startController, waitFor, type RunningController } from './harness.js';

const NS = `ironlb-res-${process.pid}`;

describe('controller resilience', () => {
  let ctl: RunningController;
  beforeAll(() => {
    resetConfig();
    createNamespace(NS);
    apply(`apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata:
  name: res-pool
  namespace: metallb-system
spec:
  addresses: ["203.0.113.0/29"]
`);
    ctl = startController();
  });
  afterAll(async () => {
    await ctl?.stop();
    kubectl(['-n', NS, 'delete', 'svc', '--all', '--wait=false']);
    deleteNamespace(NS);
    resetConfig();
  });

  test('a status wiped by someone else is put back', async () => {
    apply(lbService('wiped'), NS);
    const ip = await waitFor('wiped ip', () => ingressIps(NS, 'wiped')[0]);
    kubectl(['-n', NS, 'patch', 'svc', 'wiped', '--subresource=status', '--type=merge', '-p', '{"status":{"loadBalancer":{"ingress":null}}}']);
    expect(await waitFor('status restored', () => ingressIps(NS, 'wiped')[0])).toBe(ip);
  });

  test('kube-apiserver killed and restarted: the controller reconnects and keeps working', async () => {
    apply(lbService('before'), NS);
    const beforeIp = await waitFor('before ip', () => ingressIps(NS, 'before')[0]);
    await restartLabProcess(lab().dir, 'kube-apiserver', 3000);
    expect(ctl.child.exitCode).toBeNull();
    // New objects, deletions and config changes made after the restart are all seen.
    apply(lbService('after'), NS);
    const afterIp = await waitFor('after ip', () => ingressIps(NS, 'after')[0], 60_000);
    expect(afterIp).not.toBe(beforeIp);
    kubectl(['-n', NS, 'delete', 'svc', 'before']);
    apply(lbService('reuse', { loadBalancerIP: beforeIp }), NS);
    expect(await waitFor('reuse gets the freed IP', () => ingressIps(NS, 'reuse')[0], 60_000)).toBe(beforeIp);
    apply(`apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata:
  name: res-pool-2
  namespace: metallb-system
spec:
  addresses: ["198.51.100.64/30"]
  serviceAllocation:
    namespaces: ["${NS}"]
    priority: 1
`);
    // The config watch and the Service watch are separate streams: wait until the new pool is
    // loaded (its status is written) so the Service is not handled under the old config.
    await waitFor('res-pool-2 loaded', () => kubectlJson<any>(['-n', 'metallb-system', 'get', 'ipaddresspool', 'res-pool-2']).status?.availableIPv4 === 4, 60_000);
    apply(lbService('pinned'), NS);
    expect(await waitFor('pinned from the new pool', () => ingressIps(NS, 'pinned')[0], 60_000)).toBe('198.51.100.64');
    expect(ctl.logText()).toMatch(/failed; retrying/);
  }, 180_000);
});
