import { describe, expect, it } from 'vitest';
import { formatIp, parseIp } from '../../src/net/address.js';
import { normalizeRanges, subtractRanges, type AddressRange } from '../../src/underlay/addressRanges.js';
import { effectiveExcludes, effectiveGateways, parseCidrBlock, parseExcludeEntry } from '../../src/underlay/excludeIps.js';

const text = (rs: readonly AddressRange[]) => rs.map((r) => `${formatIp(r.family, r.first)}-${formatIp(r.family, r.last)}`);
function excludes(list: string[], cidrBlock: string, gateway = '') {
  const cidrs = parseCidrBlock(cidrBlock)!;
  return effectiveExcludes(list, cidrs, effectiveGateways(cidrs, gateway));
}

describe('parseExcludeEntry (Kube-OVN ValidateSubnet)', () => {
  it('accepts an IP and an a..b range of one family', () => {
    expect(parseExcludeEntry('10.0.0.5')).toMatchObject({ ok: true, range: { family: 4 } });
    const r = parseExcludeEntry('10.0.0.10..10.0.0.20');
    expect(r.ok && text([r.range])).toEqual(['10.0.0.10-10.0.0.20']);
  });
  it.each([
    ['10.0.0.1-10.0.0.5', /neither an IP/], // MetalLB dash syntax is not Kube-OVN syntax
    ['10.0.0.0/24', /neither an IP/],
    ['10.0.0.1..10.0.0.2..10.0.0.3', /more than one/],
    ['10.0.0.9..10.0.0.1', /start is after the end/],
    ['2001:DB8::1', /uppercase/],
    ['10.0.0.1..2001:db8::1', /different IP families/],
  ])('rejects %s', (entry, reason) => {
    const r = parseExcludeEntry(entry);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.reason).toMatch(reason);
  });
});

describe('effectiveExcludes (util.ExpandExcludeIPs + gateways)', () => {
  it('clamps a range to [network+1, network+2^h-2]', () => {
    expect(text(excludes(['10.0.0.0..10.0.0.255'], '10.0.0.0/24', '10.0.0.1').ranges)).toEqual(['10.0.0.1-10.0.0.254']);
    expect(text(excludes(['9.0.0.0..10.0.0.3'], '10.0.0.0/24', '10.0.0.1').ranges)).toEqual(['10.0.0.1-10.0.0.3']);
  });
  it('drops a single IP outside the CIDR or equal to the network or last address', () => {
    const r = excludes(['10.0.0.0', '10.0.0.255', '10.0.1.7', '10.0.0.9'], '10.0.0.0/24', '10.0.0.1');
    expect(text(r.ranges)).toEqual(['10.0.0.1-10.0.0.1', '10.0.0.9-10.0.0.9']);
    expect(r.ignored.map((i) => i.entry)).toEqual(['10.0.0.0', '10.0.0.255', '10.0.1.7']);
  });
  it('drops a range that lies wholly outside the usable range', () => {
    expect(excludes(['10.0.1.0..10.0.1.9'], '10.0.0.0/24').ignored.map((i) => i.entry)).toEqual(['10.0.1.0..10.0.1.9']);
  });
  it('always excludes the gateway, derived as network+1 when spec.gateway is empty', () => {
    expect(text(excludes([], '10.0.0.0/24', '10.0.0.254').ranges)).toEqual(['10.0.0.254-10.0.0.254']);
    expect(text(excludes([], '10.0.0.0/24').ranges)).toEqual(['10.0.0.1-10.0.0.1']);
  });
  it('expands each family against the CIDR of its own family (dual stack, one list)', () => {
    const r = excludes(['10.0.0.5', '2001:db8::5..2001:db8::ffff:ffff:ffff:ffff', '2001:db8:1::1'], '10.0.0.0/24,2001:db8::/64', '10.0.0.1,2001:db8::1');
    expect(text(r.ranges)).toEqual(['10.0.0.1-10.0.0.1', '10.0.0.5-10.0.0.5', '2001:db8::1-2001:db8::1', '2001:db8::5-2001:db8::ffff:ffff:ffff:fffe']);
    expect(r.ignored.map((i) => i.entry)).toEqual(['2001:db8:1::1']);
  });
  it('ignores an entry of a family the subnet does not have, and merges overlaps', () => {
    const r = excludes(['2001:db8::5', '10.0.0.5..10.0.0.9', '10.0.0.8..10.0.0.12'], '10.0.0.0/24', '10.0.0.1');
    expect(text(r.ranges)).toEqual(['10.0.0.1-10.0.0.1', '10.0.0.5-10.0.0.12']);
    expect(r.ignored.map((i) => i.entry)).toEqual(['2001:db8::5']);
  });
  it('appends the missing family gateway of a dual-stack subnet (AppendGwByCidr)', () => {
    const gws = effectiveGateways(parseCidrBlock('fd00::/64,10.0.0.0/24')!, '10.0.0.254');
    expect(gws.map((g) => formatIp(g.family, g.value))).toEqual(['10.0.0.254', 'fd00::1']);
  });
});

describe('range algebra', () => {
  const r = (a: string, b: string): AddressRange => ({ family: parseIp(a)!.family, first: parseIp(a)!.value, last: parseIp(b)!.value });
  it('subtracts and normalizes', () => {
    expect(text(subtractRanges([r('10.0.0.0', '10.0.0.20')], [r('10.0.0.5', '10.0.0.6'), r('10.0.0.20', '10.0.0.30')]))).toEqual([
      '10.0.0.0-10.0.0.4',
      '10.0.0.7-10.0.0.19',
    ]);
    expect(text(normalizeRanges([r('10.0.0.5', '10.0.0.9'), r('10.0.0.0', '10.0.0.4')]))).toEqual(['10.0.0.0-10.0.0.9']);
  });
});
