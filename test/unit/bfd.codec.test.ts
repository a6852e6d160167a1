import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BfdState, controlPacket, decodeControlPacket, diagnosticName, encodeControlPacket, type BfdControlPacket } from '../../src/speaker/bfd/codec.js';
import { renderTtlGuard } from '../../src/speaker/bfd/ttlGuard.js';

const u32 = fc.integer({ min: 0, max: 0xffff_ffff });
const validPacket: fc.Arbitrary<BfdControlPacket> = fc
  .record({
    diagnostic: fc.integer({ min: 0, max: 31 }),
    state: fc.constantFrom(BfdState.AdminDown, BfdState.Down, BfdState.Init, BfdState.Up),
    pf: fc.constantFrom('none', 'poll', 'final'),
    controlPlaneIndependent: fc.boolean(),
    demand: fc.boolean(),
    detectMultiplier: fc.integer({ min: 1, max: 255 }),
    myDiscriminator: fc.integer({ min: 1, max: 0xffff_ffff }),
    yourDiscriminator: u32,
    desiredMinTxInterval: u32,
    requiredMinRxInterval: u32,
    requiredMinEchoRxInterval: u32,
  })
  .map(({ pf, ...r }) => {
    const needsYour = r.state === BfdState.Init || r.state === BfdState.Up;
    return controlPacket({ ...r, poll: pf === 'poll', final: pf === 'final', yourDiscriminator: needsYour && r.yourDiscriminator === 0 ? 1 : r.yourDiscriminator });
  });

function base(): Buffer {
  return encodeControlPacket(controlPacket({ state: BfdState.Up, detectMultiplier: 3, myDiscriminator: 7, yourDiscriminator: 9, desiredMinTxInterval: 100_000, requiredMinRxInterval: 100_000 }));
}
function reason(b: Uint8Array): string {
  const r = decodeControlPacket(b);
  if (r.ok) throw new Error('expected a rejection');
  return r.reason;
}

describe('BFD control packet codec', () => {
  it('round-trips every valid packet (property)', () => {
    fc.assert(
      fc.property(validPacket, (p) => {
        const bytes = encodeControlPacket(p);
        expect(bytes.length).toBe(24);
        const r = decodeControlPacket(bytes);
        expect(r).toEqual({ ok: true, packet: p });
      }),
    );
  });

  it('lays out the fields as RFC 5880 §4.1 draws them', () => {
    const b = encodeControlPacket(controlPacket({ state: BfdState.Init, diagnostic: 3, poll: true, detectMultiplier: 5, myDiscriminator: 0x01020304, yourDiscriminator: 0x0a0b0c0d, desiredMinTxInterval: 1_000_000, requiredMinRxInterval: 300_000 }));
    expect(b.toString('hex')).toBe('23' + 'a0' + '05' + '18' + '01020304' + '0a0b0c0d' + '000f4240' + '000493e0' + '00000000');
  });

  it('never throws on arbitrary bytes (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), (bytes) => {
        const r = decodeControlPacket(bytes);
        expect(typeof r.ok).toBe('boolean');
      }),
    );
  });

  it('accepts trailing bytes beyond Length (UDP padding) and decodes from a subarray', () => {
    const padded = Buffer.concat([Buffer.from([0xff, 0xff]), base(), Buffer.from([0, 0, 0])]).subarray(2);
    const r = decodeControlPacket(padded);
    expect(r.ok && r.packet.myDiscriminator).toBe(7);
  });

  describe('§6.8.6 rejections', () => {
    it('version other than 1', () => {
      const b = base();
      b[0] = (2 << 5) | (b[0]! & 0x1f);
      expect(reason(b)).toMatch(/version 2/);
    });
    it('Length below 24 without A bit, below 26 with A bit', () => {
      const b = base();
      b[3] = 23;
      expect(reason(b)).toMatch(/Length field 23 is below the minimum 24/);
      const a = Buffer.concat([base(), Buffer.alloc(4)]);
      a[1] = a[1]! | 0x04;
      a[3] = 25;
      expect(reason(a)).toMatch(/below the minimum 26 for a packet with the A bit/);
    });
    it('Length larger than the payload', () => {
      const b = base();
      b[3] = 30;
      expect(reason(b)).toMatch(/Length field 30 is larger than the 24-byte payload/);
    });
    it('truncated payloads', () => {
      expect(reason(base().subarray(0, 3))).toMatch(/too short/);
      expect(reason(base().subarray(0, 20))).toMatch(/larger than the 20-byte payload/);
    });
    it('Detect Mult zero', () => {
      const b = base();
      b[2] = 0;
      expect(reason(b)).toMatch(/Detect Mult is zero/);
    });
    it('Multipoint bit set', () => {
      const b = base();
      b[1] = b[1]! | 0x01;
      expect(reason(b)).toMatch(/Multipoint/);
    });
    it('My Discriminator zero', () => {
      const b = base();
      b.writeUInt32BE(0, 4);
      expect(reason(b)).toMatch(/My Discriminator is zero/);
    });
    it('Your Discriminator zero is allowed only in Down and AdminDown', () => {
      for (const [state, ok] of [[BfdState.AdminDown, true], [BfdState.Down, true], [BfdState.Init, false], [BfdState.Up, false]] as const) {
        const b = base();
        b.writeUInt32BE(0, 8);
        b[1] = (state << 6) | (b[1]! & 0x3f);
        const r = decodeControlPacket(b);
        expect(r.ok, `state ${state}`).toBe(ok);
        if (!r.ok) expect(r.reason).toMatch(/Your Discriminator is zero while State is (Init|Up)/);
      }
    });
    it('authentication present: rejected with a clear reason (no auth implemented)', () => {
      const a = Buffer.concat([base(), Buffer.from([2, 24, 1, 0, ...new Array(20).fill(0)])]);
      a[1] = a[1]! | 0x04;
      a[3] = 48;
      expect(reason(a)).toMatch(/authentication section present \(Auth Type 2\).*without authentication only/);
    });
    it('Poll and Final together', () => {
      const b = base();
      b[1] = b[1]! | 0x30;
      expect(reason(b)).toMatch(/both Poll and Final/);
    });
  });

  it('refuses to encode what it would reject', () => {
    const p = controlPacket({ state: BfdState.Up, detectMultiplier: 3, myDiscriminator: 1, yourDiscriminator: 2, desiredMinTxInterval: 1, requiredMinRxInterval: 1 });
    expect(() => encodeControlPacket({ ...p, poll: true, final: true })).toThrow(/Poll and Final/);
    expect(() => encodeControlPacket({ ...p, detectMultiplier: 256 })).toThrow(/detectMultiplier=256/);
  });

  it('names diagnostics', () => {
    expect(diagnosticName(1)).toBe('Control Detection Time Expired');
    expect(diagnosticName(3)).toBe('Neighbor Signaled Session Down');
    expect(diagnosticName(20)).toBe('Reserved (20)');
  });
});

describe('GTSM nftables guard', () => {
  it('drops single-hop packets whose TTL/hop limit is not 255 and multihop ones below minimumTtl', () => {
    const text = renderTtlGuard([{ peer: '192.0.2.9', minimumTtl: 250 }, { peer: '2001:db8:0:0::9', minimumTtl: 200 }, { peer: '192.0.2.10', minimumTtl: 1 }]);
    expect(text).toContain('udp dport 3784 ip ttl != 255 counter drop');
    expect(text).toContain('udp dport 3784 ip6 hoplimit != 255 counter drop');
    expect(text).toContain('ip saddr 192.0.2.9 udp dport 4784 ip ttl < 250 counter drop');
    expect(text).toContain('ip6 saddr 2001:db8::9 udp dport 4784 ip6 hoplimit < 200 counter drop');
    expect(text).not.toContain('192.0.2.10');
    expect(() => renderTtlGuard([{ peer: 'nope', minimumTtl: 254 }])).toThrow(/not an IP address/);
  });
});
