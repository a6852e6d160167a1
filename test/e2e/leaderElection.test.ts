// Two controllers with --leader-elect against the real API server: only the leader writes, and
// when it dies the standby takes over within the lease duration without rewriting a Service.
import { afterAll, afterEach, describe, expect, test } from 'vitest';
import { apply, createNamespace, deleteNamespace, ingressIps, kubectl, kubectlJson, lbService, resetConfig, startController, waitFor, type RunningController } from './harness.js';

const NS = `ironlb-le-${process.pid}`;
const LEASE = `ironlb-le-${process.pid}`;
const SERVICES = 40;
const LEASE_DURATION_MS = 15_000; // the default, as in the manifests
const RETRY_MS = 2_000;

const pool = `apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata:
  name: le-pool
  namespace: metallb-system
spec:
  addresses: ["198.51.100.0/24"]
`;

function lease(): any {
  return kubectlJson<any>(['-n', 'metallb-system', 'get', 'lease', LEASE]);
}

function serviceVersions(): Map<string, string> {
  return new Map((kubectlJson<any>(['-n', NS, 'get', 'svc']).items as any[]).map((s) => [s.metadata.name as string, s.metadata.resourceVersion as string]));
}

describe('controller leader election', () => {
  const ctls: RunningController[] = [];
  const start = () => {
    const c = startController(['--leader-elect', '--leader-elect-lease-name', LEASE]);
    ctls.push(c);
    return c;
  };

  afterEach((ctx) => {
    if (ctx.task.result?.state === 'fail') {
      for (const c of ctls) process.stderr.write(`--- ${c.log} (tail) ---\n${c.logText().split('\n').slice(-25).join('\n')}\n`);
    }
  });

  afterAll(async () => {
    for (const c of ctls) await c.stop();
    kubectl(['-n', NS, 'delete', 'svc', '--all', '--wait=false']);
    deleteNamespace(NS);
    kubectl(['-n', 'metallb-system', 'delete', 'lease', LEASE, '--ignore-not-found']);
    resetConfig();
  });

  test('kill the leader: the standby takes over within the lease duration, writes nothing at takeover, then serves new Services', async () => {
    resetConfig();
    createNamespace(NS);
    apply(pool);
    const a = start();
    await waitFor('a leads', () => a.logText().includes('became leader'), 30_000);
    const b = start();
    await waitFor('b sees a holding the lease', () => b.logText().includes('lease held by another candidate'), 30_000);
    const holderA = lease().spec.holderIdentity as string;
    expect(holderA).toMatch(/_/); // <host>_<uuid>

    const docs: string[] = [];
    for (let i = 0; i < SERVICES; i++) {
      const annotations: Record<string, string> = i % 8 === 0 ? { 'metallb.io/allow-shared-ip': `k${i % 16}` } : {};
      docs.push(lbService(`le-${i}`, { annotations, ports: [{ port: 2000 + i }] }));
    }
    apply(docs.join('---\n'), NS);
    await waitFor('all Services assigned by the leader', () => {
      const list = kubectlJson<any>(['-n', NS, 'get', 'svc']).items as any[];
      return list.length === SERVICES && list.every((s) => s.status?.loadBalancer?.ingress?.length === 1) ? true : undefined;
    }, 60_000);
    // The standby has caches but never reconciled.
    expect(b.logText()).toContain('caches synced');
    expect(b.logText()).not.toContain('initial full pass done');
    await new Promise((r) => setTimeout(r, 1500)); // a's last writes land before the snapshot
    const before = serviceVersions();
    const ipsBefore = new Map([...before.keys()].map((n) => [n, ingressIps(NS, n)[0]]));

    const killedAt = Date.now();
    await a.stop(); // SIGKILL: no release, the lease must expire
    await waitFor('b leads', () => b.logText().includes('became leader'), LEASE_DURATION_MS + 3 * RETRY_MS + 5000);
    const takeoverMs = Date.now() - killedAt;
    process.stderr.write(`[leader election] takeover after ${takeoverMs} ms\n`);
    // Not before the lease could have expired on b's clock, and about one duration after.
    expect(takeoverMs).toBeGreaterThanOrEqual(LEASE_DURATION_MS - RETRY_MS);
    expect(takeoverMs).toBeLessThanOrEqual(LEASE_DURATION_MS + 2 * RETRY_MS + 2000);
    const l = lease();
    expect(l.spec.holderIdentity).not.toBe(holderA);
    expect(l.spec.leaseTransitions).toBe(1);

    await waitFor('b\'s first full pass', () => b.logText().includes('initial full pass done'), 30_000);
    await new Promise((r) => setTimeout(r, 2000)); // a stray write would land in this window
    const after = serviceVersions();
    const rewritten = [...after].filter(([n, rv]) => before.get(n) !== rv).map(([n]) => n);
    expect(rewritten).toEqual([]);
    for (const [n, ip] of ipsBefore) expect(ingressIps(NS, n)[0], n).toBe(ip);

    apply(lbService('le-after', { ports: [{ port: 3000 }] }), NS);
    const ip = await waitFor('a Service created after takeover gets an IP', () => ingressIps(NS, 'le-after')[0], 30_000);
    expect(ip).toMatch(/^198\.51\.100\./);
    expect([...ipsBefore.values()]).not.toContain(ip);
  }, 180_000);

  test('a clean stop hands the lease over at once', async () => {
    const b = ctls[1]!;
    const c = start();
    await waitFor('c waits', () => c.logText().includes('lease held by another candidate'), 30_000);
    const stoppedAt = Date.now();
    b.child.kill('SIGTERM');
    await waitFor('c leads', () => c.logText().includes('became leader'), 15_000);
    const handover = Date.now() - stoppedAt;
    process.stderr.write(`[leader election] handover after SIGTERM in ${handover} ms\n`);
    expect(b.logText()).toContain('released the lease');
    expect(handover).toBeLessThan(LEASE_DURATION_MS - RETRY_MS); // not an expiry
  }, 60_000);
});
