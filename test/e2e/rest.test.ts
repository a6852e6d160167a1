// src/k8s/rest.ts against the real API server: pages of a list, errors with the server's
// message, create/patch/delete, and a watch that sees every change, ends when the server ends
// it, and stays quiet when aborted.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { describeApiError, KubeApiError } from '../../src/k8s/apiErrors.js';
import { loadKubeRest, type KubeRest } from '../../src/k8s/rest.js';
import { createNamespace, deleteNamespace, kubectl, lab, waitFor } from './harness.js';

const NS = `ironlb-rest-${process.pid}`;
const CM = `/api/v1/namespaces/${NS}/configmaps`;

interface ConfigMap { metadata?: { name?: string; resourceVersion?: string; labels?: Record<string, string> }; data?: Record<string, string> }

describe('KubeRest against the API server', () => {
  let api: KubeRest;
  beforeAll(() => {
    createNamespace(NS);
    api = loadKubeRest(lab().kubeconfig);
  });
  afterAll(() => {
    api?.close();
    deleteNamespace(NS);
  });

  test('a list of several pages comes back whole, with a resourceVersion', async () => {
    for (let i = 0; i < 5; i++) await api.create(CM, { metadata: { name: `page-${i}`, labels: { set: 'pages' } }, data: { i: String(i) } });
    const all = await api.list<ConfigMap>(CM, { labelSelector: 'set=pages', limit: 2 });
    expect(all.items.map((c) => c.metadata?.name).sort()).toEqual(['page-0', 'page-1', 'page-2', 'page-3', 'page-4']);
    expect(Number(all.metadata?.resourceVersion)).toBeGreaterThan(0);
  });

  test('a missing object is a KubeApiError with the code and the server message', async () => {
    const err = await api.get(`${CM}/nope`).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KubeApiError);
    expect((err as KubeApiError).code).toBe(404);
    expect(describeApiError(err)).toMatch(/^HTTP 404: configmaps "nope" not found$/);
  });

  test('create, merge patch and delete', async () => {
    await api.create(CM, { metadata: { name: 'patched' }, data: { a: '1' } });
    const after = await api.patch<ConfigMap>(`${CM}/patched`, { data: { b: '2' } }, 'merge');
    expect(after.data).toEqual({ a: '1', b: '2' });
    expect(JSON.parse(kubectl(['-n', NS, 'get', 'configmap', 'patched', '-o', 'json'])).data).toEqual({ a: '1', b: '2' });
    await api.delete(`${CM}/patched`);
    const gone = await api.get(`${CM}/patched`).catch((e: unknown) => e);
    expect((gone as KubeApiError).code).toBe(404);
  });

  test('a watch sees added, modified and deleted; abort ends it without a done call', async () => {
    const start = await api.list<ConfigMap>(CM);
    const seen: string[] = [];
    let doneCalls = 0;
    const handle = await api.watch<ConfigMap>(CM, { resourceVersion: start.metadata?.resourceVersion, labelSelector: 'set=watched' },
      (type, obj) => seen.push(`${type} ${obj.metadata?.name}`), () => doneCalls++);
    kubectl(['-n', NS, 'create', 'configmap', 'w1', '--from-literal=x=1']);
    kubectl(['-n', NS, 'label', 'configmap', 'w1', 'set=watched']);
    kubectl(['-n', NS, 'patch', 'configmap', 'w1', '--type=merge', '-p', '{"data":{"x":"2"}}']);
    kubectl(['-n', NS, 'delete', 'configmap', 'w1']);
    await waitFor('watch events', () => seen.length >= 3 || undefined, 15_000);
    expect(seen).toEqual(['ADDED w1', 'MODIFIED w1', 'DELETED w1']);
    handle.abort();
    await new Promise((r) => setTimeout(r, 500));
    expect(doneCalls).toBe(0);
  });

  test('a watch the server ends (timeoutSeconds) calls done once without an error', async () => {
    const dones: unknown[] = [];
    await api.watch(CM, { timeoutSeconds: 1 }, () => {}, (err) => dones.push(err ?? 'clean'));
    await waitFor('watch end', () => dones.length > 0 || undefined, 15_000);
    await new Promise((r) => setTimeout(r, 300));
    expect(dones).toEqual(['clean']);
  });

  test('a refused watch reports the status code', async () => {
    const dones: unknown[] = [];
    await api.watch('/apis/nothing.example.com/v1/things', {}, () => {}, (err) => dones.push(err));
    await waitFor('refusal', () => dones.length > 0 || undefined, 15_000);
    expect((dones[0] as { statusCode?: number }).statusCode).toBe(404);
  });
});
