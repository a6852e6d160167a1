// Health, readiness, ironlb's own metrics and the per-component ConfigurationState, against a
// small lab (2 node namespaces with real speakers, a controller): /healthz and /readyz of the
// running processes, an announced Service moving the takeover and announce-latency series, and an
// invalid configuration turning every ConfigurationState Invalid (with the parser's message)
// and Valid again once fixed.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { Counter, Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { serveMetrics } from '../../src/cli/metricsServer.js';
import { kubectl as labKubectl, labDown, labUp, type LabState } from '../../src/lab/lab.js';
import { runIn } from '../../src/lab/network.js';
import { waitFor } from './harness.js';

const parent = mkdtempSync(join(tmpdir(), 'ironlb-health-'));
const dir = join(parent, 'lab');
const NS = `ironlb-health-${process.pid}`;
const MS = 'metallb-system';
let lab: LabState | undefined;
let controllerMetricsPort = 0;
const k = (args: string[], input?: string) => labKubectl(lab!, args, input);
const json = (args: string[]) => JSON.parse(k([...args, '-o', 'json']));

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const { port } = srv.address() as AddressInfo;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

async function get(url: string): Promise<{ status: number; body: string }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(3000) });
  return { status: res.status, body: await res.text() };
}

/** HTTP GET from inside a node namespace (the speakers listen there): status code and body. */
function getInNode(ns: string, path: string): { status: number; body: string } {
  const out = runIn(ns, 'curl', ['-s', '--max-time', '3', '-w', '\n%{http_code}', `http://127.0.0.1:7472${path}`]);
  const cut = out.lastIndexOf('\n');
  return { status: Number(out.slice(cut + 1)), body: out.slice(0, cut) };
}

/** The value of one sample line of a Prometheus text exposition (undefined: no such series). */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('serveMetrics probes (real HTTP)', () => {
  test('/healthz always 200; /readyz 503 with the reason until ready, then 200; /metrics serves the registry', async () => {
    const registry = new Registry();
    new Counter({ name: 'ironlb_test_probe_total', help: 'test', registers: [registry] }).inc(3);
    let notReady: string | undefined = 'caches not synced yet';
    const port = await freePort();
    const srv = serveMetrics(registry, '127.0.0.1', port, pino({ level: 'silent' }), { ready: () => notReady });
    try {
      await waitFor('listening', () => srv?.listening);
      expect(await get(`http://127.0.0.1:${port}/healthz`)).toEqual({ status: 200, body: 'ok' });
      expect(await get(`http://127.0.0.1:${port}/readyz`)).toEqual({ status: 503, body: 'not ready: caches not synced yet' });
      notReady = undefined;
      expect(await get(`http://127.0.0.1:${port}/readyz`)).toEqual({ status: 200, body: 'ok' });
      expect(sample((await get(`http://127.0.0.1:${port}/metrics`)).body, 'ironlb_test_probe_total')).toBe(3);
      expect((await get(`http://127.0.0.1:${port}/nope`)).status).toBe(404);
    } finally {
      srv?.close();
    }
  });
});

describe('health, metrics and ConfigurationState in the lab', () => {
  beforeAll(async () => {
    controllerMetricsPort = await freePort();
    lab = await labUp({ dir, nodes: 2, controllerArgs: ['--metrics-port', String(controllerMetricsPort)], progress: (l) => process.stderr.write(`[health lab] ${l}\n`) });
    k(['create', 'namespace', NS]);
  }, 300_000);

  afterAll(async () => {
    try {
      if (lab) k(['delete', 'namespace', NS, '--wait=false']);
    } catch {
      // the lab goes away below anyway
    }
    await labDown(dir, () => {});
    rmSync(parent, { recursive: true, force: true });
  }, 120_000);

  const nodes = () => lab!.network!.nodes;

  test('controller and every speaker: /healthz and /readyz answer 200 once running', async () => {
    await waitFor('controller ready', async () => (await get(`http://127.0.0.1:${controllerMetricsPort}/readyz`).catch(() => undefined))?.status === 200, 60_000);
    expect(await get(`http://127.0.0.1:${controllerMetricsPort}/healthz`)).toEqual({ status: 200, body: 'ok' });
    for (const n of nodes()) {
      await waitFor(`speaker ${n.name} ready`, () => getInNode(n.namespace, '/readyz').status === 200, 60_000);
      expect(getInNode(n.namespace, '/healthz')).toEqual({ status: 200, body: 'ok' });
    }
  }, 150_000);

  test('an announced Service moves the takeover and announce-latency series of its owner', async () => {
    k(['apply', '-f', '-'], `apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: health, namespace: ${MS}}
spec: {addresses: [192.0.2.230-192.0.2.233]}
---
apiVersion: metallb.io/v1beta1
kind: L2Advertisement
metadata: {name: health, namespace: ${MS}}
spec: {ipAddressPools: [health]}
`);
    // A selectorless Service with a hand-written ready endpoint on the first node: no pods needed.
    const node = nodes()[0]!;
    k(['-n', NS, 'apply', '-f', '-'], `apiVersion: v1
kind: Service
metadata: {name: probe}
spec:
  type: LoadBalancer
  ports: [{port: 80, protocol: TCP}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: probe-1
  labels: {kubernetes.io/service-name: probe}
addressType: IPv4
ports: [{port: 80, protocol: TCP}]
endpoints:
  - addresses: [192.0.2.250]
    nodeName: ${node.name}
    conditions: {ready: true}
`);
    const ip = await waitFor('probe ingress', () => (json(['-n', NS, 'get', 'svc', 'probe']).status?.loadBalancer?.ingress?.[0]?.ip as string | undefined), 60_000);
    expect(ip).toMatch(/^192\.0\.2\.23[0-3]$/);
    // The controller timed it from first sight to the status write.
    const ctl = (await get(`http://127.0.0.1:${controllerMetricsPort}/metrics`)).body;
    expect(sample(ctl, 'ironlb_controller_assign_latency_seconds_count')).toBeGreaterThanOrEqual(1);
    expect(sample(ctl, 'ironlb_controller_assign_latency_seconds_sum')! / sample(ctl, 'ironlb_controller_assign_latency_seconds_count')!).toBeLessThan(10);
    // Cluster policy: any speaker may win; find the owner by its metrics.
    const owner = await waitFor('an owner announcing the IP', () => nodes().find((n) => sample(getInNode(n.namespace, '/metrics').body, 'ironlb_speaker_announce_latency_seconds_count')! >= 1), 30_000);
    const text = getInNode(owner.namespace, '/metrics').body;
    const takeovers = ['ownerLeft', 'moved', 'newlyAssigned', 'startup'].reduce((sum, r) => sum + (sample(text, `ironlb_speaker_takeovers_total{reason="${r}"}`) ?? NaN), 0);
    expect(takeovers).toBeGreaterThanOrEqual(1);
    const sum = sample(text, 'ironlb_speaker_announce_latency_seconds_sum')!;
    const count = sample(text, 'ironlb_speaker_announce_latency_seconds_count')!;
    // One pass plus one burst: well under a second each.
    expect(sum / count).toBeGreaterThanOrEqual(0);
    expect(sum / count).toBeLessThan(1);
    expect(text).toMatch(new RegExp(`metallb_speaker_announced\\{[^}]*ip="${ip!.replace(/\./g, '\\.')}"[^}]*\\} 1`));
    // Both speakers saw each other join the gossip (the lab creates the memberlist key).
    for (const n of nodes()) expect(sample(getInNode(n.namespace, '/metrics').body, 'ironlb_membership_member_state_changes_total{to="alive"}') ?? 0, n.name).toBeGreaterThanOrEqual(1);
  }, 120_000);

  test('an invalid configuration turns every ConfigurationState Invalid with the error; fixing it turns them Valid', async () => {
    const states = () => new Map((json(['-n', MS, 'get', 'configurationstates']).items as any[]).map((o) => [o.metadata.name as string, o]));
    const speakerNames = nodes().map((n) => `speaker-${n.name}`);
    await waitFor('Valid ConfigurationStates of the speakers and the controller', () => {
      const s = states();
      return [...speakerNames, 'controller'].every((name) => s.get(name)?.status?.result === 'Valid') ? s : undefined;
    }, 60_000);
    for (const n of nodes()) {
      const o = states().get(`speaker-${n.name}`);
      expect(o.metadata.labels).toMatchObject({ 'metallb.io/component-type': 'speaker', 'metallb.io/node-name': n.name });
      expect(o.status.conditions).toEqual([expect.objectContaining({ type: 'configReconcilerValid', status: 'True', reason: 'Reconciled' })]);
    }
    // Overlaps pool "health": accepted by the CRD schema, refused by the parser.
    k(['apply', '-f', '-'], `apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: health-overlap, namespace: ${MS}}
spec: {addresses: [192.0.2.232/31]}
`);
    try {
      const invalid = await waitFor('Invalid ConfigurationStates', () => {
        const s = states();
        return [...speakerNames, 'controller'].every((name) => s.get(name)?.status?.result === 'Invalid') ? s : undefined;
      }, 60_000);
      for (const name of speakerNames) {
        const st = invalid.get(name).status;
        expect(st.errorSummary, name).toMatch(/health-overlap|overlap/i);
        expect(st.conditions).toEqual([expect.objectContaining({ type: 'configReconcilerValid', status: 'False', reason: 'ConfigurationError' })]);
        expect(st.conditions[0].message).toBe(st.errorSummary);
      }
      // The speakers agree with the controller on what is wrong.
      expect(invalid.get(speakerNames[0]!).status.errorSummary).toBe(invalid.get('controller').status.errorSummary);
    } finally {
      k(['-n', MS, 'delete', 'ipaddresspool', 'health-overlap', '--ignore-not-found']);
    }
    await waitFor('Valid again', () => {
      const s = states();
      return [...speakerNames, 'controller'].every((name) => s.get(name)?.status?.result === 'Valid' && s.get(name)?.status?.errorSummary === '') ? s : undefined;
    }, 60_000);
  }, 180_000);
});
