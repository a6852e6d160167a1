// The `ironlb` command as users run it (compiled, through bin/ironlb.js).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { describe, expect, test } from 'vitest';
import { projectRoot } from '../../src/lab/projectRoot.js';

function ironlb(args: string[], input?: string) {
  const r = spawnSync(process.execPath, [join(projectRoot(), 'bin', 'ironlb.js'), ...args], { input, encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('ironlb CLI', () => {
  test.each([
    [['--help'], /controller[\s\S]*lab[\s\S]*convert/],
    [['controller', '--help'], /--lb-class/],
    [['lab', '--help'], /up[\s\S]*down[\s\S]*status[\s\S]*demo/],
    [['lab', 'up', '--help'], /--json/],
    [['lab', 'down', '--help'], /--dir/],
    [['lab', 'status', '--help'], /--json/],
    [['lab', 'demo', '--help'], /EXTERNAL-IP/],
    [['convert', '--help'], /legacy MetalLB ConfigMap/],
  ])('%j prints help', (args, expected) => {
    const r = ironlb(args);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(expected);
  });

  test('convert: the seed-003 ConfigMap becomes CRs', () => {
    const r = ironlb(['convert', join(projectRoot(), 'e2e', 'scenarios', 'seed-003', 'configmap.yaml')]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const docs = parseAllDocuments(r.out).map((d) => d.toJS());
    const kinds = docs.map((d) => `${d.kind}/${d.metadata.name}`);
    expect(kinds).toContain('BGPPeer/peer1');
    expect(kinds).toContain('IPAddressPool/default');
    expect(kinds).toContain('L2Advertisement/l2advertisement1');
    const pool = docs.find((d) => d.kind === 'IPAddressPool' && d.metadata.name === 'bgp-pool');
    expect(pool.spec).toMatchObject({ addresses: ['198.51.100.0/24'], autoAssign: false });
    expect(docs.filter((d) => d.kind === 'BGPAdvertisement').map((d) => d.spec.aggregationLength).sort()).toEqual([24, 32]);
    expect(docs.every((d) => d.metadata.namespace === 'metallb-system')).toBe(true);
  });

  test('convert: a broken ConfigMap fails with the object and field named', () => {
    const r = ironlb(['convert'], 'address-pools:\n- name: p\n  addresses: ["10.0.0.0/24"]\n');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/protocol/);
    expect(r.err).toMatch(/"p"/);
  });

  test('lab status on a directory without a lab says so', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ironlb-nolab-'));
    try {
      const r = ironlb(['lab', 'status', '--dir', dir]);
      expect(r.code).toBe(1);
      expect(r.err).toMatch(/no lab/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
