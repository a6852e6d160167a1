// Server-side dry-run of the install outputs against the lab's real kube-apiserver: the one-file
// install, each kustomize overlay (rendered by kubectl's built-in kustomize), the scenario
// manifests the kind provider applies, and the seed-003 ConfigMap converted by `ironlb convert`.
// The API server validates every object (schemas, CRD OpenAPI/CEL, RBAC objects) without
// storing anything. The Helm chart is not rendered here (no helm binary).
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { projectRoot } from '../../src/lab/projectRoot.js';
import { createNamespace, deleteNamespace, kubectl, lab } from './harness.js';

const ROOT = projectRoot();
const NS = `ironlb-packaging-${process.pid}`;
// A stand-in for the Prometheus Operator's CRD, so the PodMonitors can be dry-run; removed after.
const MONITORING_CRD = 'podmonitors.monitoring.coreos.com';

/** kubectl apply --server-side --dry-run=server; returns the names it reports. */
function dryRun(yaml: string, namespace?: string): string[] {
  const out = kubectl([...(namespace ? ['-n', namespace] : []), 'apply', '--server-side', '--dry-run=server', '--force-conflicts', '--field-manager=ironlb-packaging-test', '-f', '-'], yaml);
  return out.trim().split('\n').filter(Boolean);
}

function kustomize(dir: string): string {
  const r = spawnSync(lab().kubectl, ['kustomize', join(ROOT, dir)], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`kubectl kustomize ${dir}: ${r.stderr}`);
  return r.stdout;
}

const objectCount = (yaml: string) => parseAllDocuments(yaml).filter((d) => d.toJS() !== null).length;

beforeAll(() => {
  createNamespace(NS);
  kubectl(['apply', '-f', '-'], `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: ${MONITORING_CRD}, labels: {ironlb-test: packaging-${process.pid}}}
spec:
  group: monitoring.coreos.com
  scope: Namespaced
  names: {kind: PodMonitor, listKind: PodMonitorList, plural: podmonitors, singular: podmonitor}
  versions:
  - name: v1
    served: true
    storage: true
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
`);
  kubectl(['wait', '--for=condition=Established', `crd/${MONITORING_CRD}`, '--timeout=30s']);
});

afterAll(() => {
  try {
    kubectl(['delete', 'crd', MONITORING_CRD, '--ignore-not-found', '--wait=false']);
  } finally {
    deleteNamespace(NS);
  }
});

describe('install manifests on a real API server (server-side dry-run)', () => {
  it('manifests/ironlb-native.yaml: every object is accepted', () => {
    const yaml = readFileSync(join(ROOT, 'manifests/ironlb-native.yaml'), 'utf8');
    const lines = dryRun(yaml);
    expect(lines).toHaveLength(objectCount(yaml));
    for (const l of lines) expect(l).toMatch(/serverside-applied \(server dry run\)$/);
  });

  it.each(['config/native', 'config/openshift', 'config/prometheus'])('%s: every object is accepted', (dir) => {
    const yaml = kustomize(dir);
    const lines = dryRun(yaml);
    expect(lines).toHaveLength(objectCount(yaml));
    for (const l of lines) expect(l).toMatch(/serverside-applied \(server dry run\)$/);
  });

  it('the dry-run rejects a broken manifest (the check can fail)', () => {
    const yaml = readFileSync(join(ROOT, 'manifests/controller.yaml'), 'utf8').replace('replicas: 1', 'replicas: "one"');
    expect(() => dryRun(yaml)).toThrow(/replicas/);
  });
});

describe('kind scenario manifests (server-side dry-run)', () => {
  it.each([
    ['e2e/scenarios/kube-ovn-seed/pool.yaml', undefined],
    ['e2e/scenarios/lab-router/bgp.yaml', undefined],
    ['e2e/scenarios/kube-ovn-seed/deployment.yaml', NS],
    ['e2e/scenarios/kube-ovn-seed/service.yaml', NS],
  ] as const)('%s is accepted', (file, namespace) => {
    const yaml = readFileSync(join(ROOT, file), 'utf8');
    expect(dryRun(yaml, namespace)).toHaveLength(objectCount(yaml));
  });

  it('the layer-2 pool run.sh derives from the seed pool is accepted', () => {
    const yaml = readFileSync(join(ROOT, 'e2e/scenarios/kube-ovn-seed/pool.yaml'), 'utf8').replace(/10\.180\.204\.250-10\.180\.204\.254/, '172.18.255.200-172.18.255.250');
    expect(yaml).toContain('172.18.255.200-172.18.255.250');
    expect(dryRun(yaml)).toHaveLength(2);
  });

  it('seed 003 converted by `ironlb convert` is accepted', () => {
    const r = spawnSync(process.execPath, [join(ROOT, 'bin/ironlb.js'), 'convert', join(ROOT, 'e2e/scenarios/seed-003/configmap.yaml')], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const lines = dryRun(r.stdout);
    expect(lines.length).toBe(objectCount(r.stdout));
    expect(lines.some((l) => l.startsWith('ipaddresspool.metallb.io/default'))).toBe(true);
  });
});
