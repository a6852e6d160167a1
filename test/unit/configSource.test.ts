// Which watch updates of metallb.io objects are configuration changes (configSource.ts).
import { describe, expect, it } from 'vitest';
import { sameConfigContent } from '../../src/k8s/configSource.js';

const pool = (generation: number | undefined, labels: Record<string, string> = {}, status: Record<string, unknown> = {}) =>
  ({ apiVersion: 'metallb.io/v1beta1', kind: 'IPAddressPool', metadata: { name: 'p', ...(generation !== undefined ? { generation } : {}), labels }, status });

describe('sameConfigContent', () => {
  it('a status-only write (same generation and labels) is not a config change', () => {
    expect(sameConfigContent(pool(3, { tier: 'a' }), pool(3, { tier: 'a' }, { assignedIPv4: 7 }))).toBe(true);
  });
  it('a spec change (generation bumped) or a label change is', () => {
    expect(sameConfigContent(pool(3), pool(4))).toBe(false);
    expect(sameConfigContent(pool(3, { tier: 'a' }), pool(3, { tier: 'b' }))).toBe(false);
  });
  it('objects without a generation always count as changed', () => {
    expect(sameConfigContent(pool(undefined), pool(undefined))).toBe(false);
  });
});
