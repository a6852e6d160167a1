import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { canonicalIp, cidrsOverlap, formatCidr, formatIp, isBuggyIPv4, parseAddressEntry, parseCidr, parseIp, rangeToCidrs } from '../../src/net/address.js';

describe('address math', () => {
  test('CIDRs are parsed like Go net.ParseCIDR: host bits masked', () => {
    const c = parseCidr('10.0.0.5/24')!;
    expect(formatCidr(c)).toBe('10.0.0.0/24');
    expect(c.last - c.first + 1n).toBe(256n);
    expect(formatCidr(parseCidr('2001:db8::5/64')!)).toBe('2001:db8::/64');
  });

  test('invalid text is rejected', () => {
    for (const bad of ['10.0.0.0/33', '10.0.0/24', 'x/24', '2001:db8::/129', '1/8', '10.0.0.1']) expect(parseCidr(bad)).toBeUndefined();
    for (const bad of ['1', '0x1', '10.0.0', '', '10.0.0.1/32', 'fe80::1%eth0']) expect(parseIp(bad)).toBeUndefined();
  });

  test('IPv4-mapped IPv6 is an IPv4 address (Go semantics)', () => {
    expect(canonicalIp('::ffff:192.0.2.1')).toBe('192.0.2.1');
  });

  test('address entries: CIDR, range with spaces, bare IP refused, reversed range refused', () => {
    const r = parseAddressEntry('10.180.204.250 - 10.180.204.254');
    expect(r.ok && r.cidrs.map(formatCidr)).toEqual(['10.180.204.250/31', '10.180.204.252/31', '10.180.204.254/32']);
    const bare = parseAddressEntry('10.0.0.1');
    expect(bare.ok).toBe(false);
    expect(!bare.ok && bare.reason).toMatch(/x\/32/);
    const rev = parseAddressEntry('10.0.0.9-10.0.0.1');
    expect(!rev.ok && rev.reason).toMatch(/after the end IP/);
    const mixed = parseAddressEntry('10.0.0.1-2001:db8::1');
    expect(mixed.ok).toBe(false);
  });

  test('overlap and buggy IPs', () => {
    expect(cidrsOverlap(parseCidr('10.0.0.0/24')!, parseCidr('10.0.0.128/25')!)).toBe(true);
    expect(cidrsOverlap(parseCidr('10.0.0.0/25')!, parseCidr('10.0.0.128/25')!)).toBe(false);
    expect(isBuggyIPv4(4, parseIp('10.0.0.255')!.value)).toBe(true);
    expect(isBuggyIPv4(4, parseIp('10.0.0.0')!.value)).toBe(true);
    expect(isBuggyIPv4(4, parseIp('10.0.0.1')!.value)).toBe(false);
  });

  test('property: rangeToCidrs covers exactly the range with aligned, ascending, disjoint blocks', () => {
    fc.assert(fc.property(fc.bigInt({ min: 0n, max: (1n << 32n) - 1n }), fc.bigInt({ min: 0n, max: 5000n }), (start, len) => {
      const last = start + len > (1n << 32n) - 1n ? (1n << 32n) - 1n : start + len;
      const cidrs = rangeToCidrs(4, start, last);
      expect(cidrs[0]!.first).toBe(start);
      expect(cidrs[cidrs.length - 1]!.last).toBe(last);
      for (let i = 0; i < cidrs.length; i++) {
        const c = cidrs[i]!;
        const size = c.last - c.first + 1n;
        expect(size).toBe(1n << BigInt(32 - c.prefix));
        expect(c.first % size).toBe(0n);
        if (i > 0) expect(c.first).toBe(cidrs[i - 1]!.last + 1n);
      }
    }));
  });

  test('property: formatIp(parseIp(x)) is canonical and round-trips', () => {
    fc.assert(fc.property(fc.ipV6(), (ip) => {
      const p = parseIp(ip)!;
      expect(p).toBeDefined();
      const again = parseIp(formatIp(p.family, p.value))!;
      expect(again.value).toBe(p.value);
    }));
    fc.assert(fc.property(fc.ipV4(), (ip) => {
      expect(canonicalIp(ip)).toBe(ip);
    }));
  });
});
