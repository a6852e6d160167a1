// The allocator's index structures against plain models: RunSet vs Set<bigint>, CidrSlots vs
// enumerating addresses, SortedByValue vs a sorted array.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CidrSlots } from '../../src/allocator/cidrSlots.js';
import { RunSet } from '../../src/allocator/runSet.js';
import { SortedByValue } from '../../src/allocator/sortedByValue.js';
import { cidrOf, isBuggyIPv4, parseCidr } from '../../src/net/address.js';

describe('RunSet', () => {
  it('behaves like a Set<bigint> and keeps runs merged', () => {
    const opArb = fc.record({ add: fc.boolean(), value: fc.bigInt({ min: 0n, max: 40n }) });
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 200 }), fc.bigInt({ min: 0n, max: 45n }), (ops, probe) => {
        const set = new RunSet();
        const model = new Set<bigint>();
        for (const { add, value } of ops) {
          if (add) {
            expect(set.add(value)).toBe(!model.has(value));
            model.add(value);
          } else {
            expect(set.delete(value)).toBe(model.has(value));
            model.delete(value);
          }
        }
        expect(set.size).toBe(model.size);
        for (let v = 0n; v <= 45n; v++) expect(set.has(v)).toBe(model.has(v));
        let absent = probe;
        while (model.has(absent)) absent++;
        expect(set.firstAbsentFrom(probe)).toBe(absent);
        const runs = set.runs();
        for (let i = 1; i < runs.length; i++) {
          expect((runs[i] as [bigint, bigint])[0]).toBeGreaterThan((runs[i - 1] as [bigint, bigint])[1] + 1n);
        }
        const sorted = [...model].sort((a, b) => (a < b ? -1 : 1));
        expect(RunSet.fromAscending(sorted).runs()).toEqual(runs);
      }),
      { numRuns: 300 },
    );
  });

  it('rejects unsorted input to fromAscending', () => {
    expect(() => RunSet.fromAscending([3n, 2n])).toThrow();
  });

  it('finds the first free value of a huge range without scanning', () => {
    const set = new RunSet();
    const base = 1n << 100n;
    for (let i = 0n; i < 1000n; i++) set.add(base + i);
    expect(set.runCount).toBe(1);
    expect(set.firstAbsentFrom(base)).toBe(base + 1000n);
    set.delete(base + 500n);
    expect(set.runCount).toBe(2);
    expect(set.firstAbsentFrom(base)).toBe(base + 500n);
  });
});

describe('CidrSlots', () => {
  it('numbers exactly the allowed addresses, in order, under avoidBuggyIPs', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 22, max: 32 }), fc.boolean(), (start, prefix, avoid) => {
        const cidr = cidrOf(4, BigInt(start), prefix);
        const slots = new CidrSlots(cidr, avoid);
        const allowed: bigint[] = [];
        for (let v = cidr.first; v <= cidr.last; v++) if (!(avoid && isBuggyIPv4(4, v))) allowed.push(v);
        expect(slots.size).toBe(BigInt(allowed.length));
        allowed.forEach((v, i) => {
          expect(slots.allows(v)).toBe(true);
          expect(slots.slotOf(v)).toBe(slots.firstSlot + BigInt(i));
          expect(slots.addressOf(slots.firstSlot + BigInt(i))).toBe(v);
        });
        if (avoid && cidr.prefix <= 24) expect(slots.allows(cidr.first)).toBe(false);
      }),
      { numRuns: 100 },
    );
  });

  it('ignores avoidBuggyIPs for IPv6', () => {
    const c = parseCidr('1000::/120');
    if (!c) throw new Error('bad cidr');
    const slots = new CidrSlots(c, true);
    expect(slots.size).toBe(256n);
    expect(slots.allows(c.first)).toBe(true);
  });
});

describe('SortedByValue', () => {
  it('keeps unique items sorted', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ add: fc.boolean(), value: fc.bigInt({ min: 0n, max: 30n }) })), (ops) => {
        const s = new SortedByValue<{ value: bigint }>();
        const model = new Set<bigint>();
        for (const { add, value } of ops) {
          if (add) expect(s.insert({ value })).toBe(!model.has(value));
          else expect(s.remove(value)).toBe(model.has(value));
          if (add) model.add(value);
          else model.delete(value);
        }
        const items = Array.from({ length: s.length }, (_, i) => s.at(i)?.value);
        expect(items).toEqual([...model].sort((a, b) => (a < b ? -1 : 1)));
        expect(s.indexAtOrAfter(10n)).toBe(items.filter((v) => (v as bigint) < 10n).length);
      }),
    );
  });
});
