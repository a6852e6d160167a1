import { describe, expect, it } from 'vitest';
import { classifyCommunityText, formatCommunity, parseCommunityValue } from '../../src/config/community.js';
import { resourcesToYaml } from '../../src/config/convert.js';
import { formatGoDuration, parseGoDuration } from '../../src/config/goDuration.js';
import { labelKeyProblem, labelValueProblem, normalizeLegacyName, objectNameProblem } from '../../src/config/kubernetesNames.js';
import { formatFieldPath } from '../../src/config/problems.js';
import { bgpAd, resources } from '../fixtures/config/objects.js';

describe('Go durations', () => {
  it.each([
    ['90s', 90], ['1m30s', 90], ['1.5m', 90], ['2h', 7200], ['300ms', 0.3], ['1h2m3s', 3723], ['0', 0], ['0s', 0], ['-5s', -5],
    ['+3s', 3], ['.5s', 0.5], ['1.s', 1], ['1500us', 0.0015], ['1µs', 1e-6], ['1μs', 1e-6], ['10ns', 1e-8],
  ])('parses %s', (text, seconds) => {
    expect(parseGoDuration(text)).toBeCloseTo(seconds, 9);
  });

  it.each(['90', '', 's', '1x', '1 s', '.s', '1m30', '--1s', '1d'])('rejects %j', (text) => {
    expect(parseGoDuration(text)).toBeUndefined();
  });

  it.each([[90, '1m30s'], [120, '2m0s'], [3600, '1h0m0s'], [3723, '1h2m3s'], [30, '30s'], [0, '0s'], [0.5, '500ms'], [1.5, '1.5s']])('formats %d as %s', (s, text) => {
    expect(formatGoDuration(s)).toBe(text);
    expect(parseGoDuration(text)).toBeCloseTo(s, 6);
  });
});

describe('communities', () => {
  it('parses standard and large values and prints them back', () => {
    expect(parseCommunityValue('65535:65282')).toEqual({ ok: true, community: { kind: 'standard', value: 0xffffff02 } });
    expect(parseCommunityValue('0:0')).toEqual({ ok: true, community: { kind: 'standard', value: 0 } });
    expect(parseCommunityValue('large:4294967295:0:7')).toEqual({ ok: true, community: { kind: 'large', global: 4294967295, local1: 0, local2: 7 } });
    for (const text of ['65535:65282', '1:2', 'large:1:2:3']) {
      const parsed = parseCommunityValue(text);
      expect(parsed.ok && formatCommunity(parsed.community)).toBe(text);
    }
  });

  it.each(['65536:0', '0:65536', '1:2:3', '-1:2', '1:', ':1', 'large:1:2:3:4', 'large:4294967296:0:0', 'no-export'])('rejects %j', (text) => {
    expect(parseCommunityValue(text).ok).toBe(false);
  });

  it('treats text without ":" as an alias', () => {
    expect(classifyCommunityText('no-advertise')).toEqual({ kind: 'alias', alias: 'no-advertise' });
    expect(classifyCommunityText('1:x').kind).toBe('invalid');
  });

  it('quotes community values that YAML 1.1 readers would take for numbers', () => {
    const text = resourcesToYaml(resources({ bgpAdvertisements: [bgpAd('a', { communities: ['64512:1', '65535:65282'] })] }));
    expect(text).toContain('- "64512:1"');
    expect(text).toContain('- 65535:65282');
  });
});

describe('Kubernetes names', () => {
  it('checks object names', () => {
    expect(objectNameProblem('pool-1.example')).toBeUndefined();
    expect(objectNameProblem('Pool')).toMatch(/not a valid object name/);
    expect(objectNameProblem('')).toMatch(/empty/);
  });

  it('checks label keys and values', () => {
    expect(labelKeyProblem('kubernetes.io/hostname')).toBeUndefined();
    expect(labelKeyProblem('app.kubernetes.io/Name_x.y')).toBeUndefined();
    expect(labelKeyProblem('/x')).toMatch(/invalid prefix/);
    expect(labelKeyProblem('a/')).toMatch(/empty name/);
    expect(labelKeyProblem('-a')).toMatch(/invalid/);
    expect(labelValueProblem('')).toBeUndefined();
    expect(labelValueProblem('a.b_c-D')).toBeUndefined();
    expect(labelValueProblem('a b')).toMatch(/invalid/);
  });

  it.each([
    ['default', 'default'],
    ['01-numbered-addresspool', 'numbered-addresspool'],
    ['Capitalized-AddressPool', 'capitalized-addresspool'],
    ['underscored_bfd_profile', 'underscored-bfd-profile'],
    ['tooLongBFDProfileName01-tooLongBFDProfileName02-tooLongBFDProfileName03', 'toolongbfdprofilename01-toolongbfdprofilename02-toolongbfdprofi'],
    ['pool_', 'pool'],
  ])('normalises legacy name %s -> %s', (name, want) => {
    expect(normalizeLegacyName(name)).toBe(want);
    expect(objectNameProblem(want)).toBeUndefined();
  });
});

describe('field paths', () => {
  it('formats zod paths the way kubectl shows them', () => {
    expect(formatFieldPath(['spec', 'addresses', 1])).toBe('spec.addresses[1]');
    expect(formatFieldPath(['spec', 'nodeSelectors', 0, 'matchLabels', 'kubernetes.io/hostname'])).toBe('spec.nodeSelectors[0].matchLabels["kubernetes.io/hostname"]');
    expect(formatFieldPath(['address-pools', 0, 'bgp-advertisements'])).toBe('address-pools[0].bgp-advertisements');
    expect(formatFieldPath([])).toBe('(object)');
  });
});
