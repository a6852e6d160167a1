// NLRI prefix encoding (RFC 4271 §4.3, RFC 4760 §5): one length octet (bits), then the fewest octets holding it.
import { ipFromBytes, ipToBytes } from '../../../net/address.js';
import { ByteWriter } from './bytes.js';

/** A prefix as canonical CIDR text ("203.0.113.10/32", "2001:db8::/64"); host bits are zero. */
export type Prefix = string;

export function encodePrefix(prefix: Prefix, w: ByteWriter): void {
  const slash = prefix.lastIndexOf('/');
  const bytes = ipToBytes(prefix.slice(0, slash));
  const len = Number(prefix.slice(slash + 1));
  if (!bytes || !Number.isInteger(len) || len < 0 || len > bytes.length * 8) {
    throw new RangeError(`BGP prefix "${prefix}" is not an IP/length CIDR`);
  }
  w.u8(len).bytes(bytes.subarray(0, Math.ceil(len / 8)));
}

export function prefixWireLength(prefix: Prefix): number {
  return 1 + Math.ceil(Number(prefix.slice(prefix.lastIndexOf('/') + 1)) / 8);
}

/** Parses a run of prefixes of one family; undefined when a length is too long or a prefix is cut short. */
export function decodePrefixes(b: Uint8Array, family: 4 | 6): Prefix[] | undefined {
  const size = family === 4 ? 4 : 16;
  const out: Prefix[] = [];
  let at = 0;
  while (at < b.length) {
    const len = b[at]!;
    if (len > size * 8) return undefined;
    const n = Math.ceil(len / 8);
    if (at + 1 + n > b.length) return undefined;
    const addr = new Uint8Array(size);
    addr.set(b.subarray(at + 1, at + 1 + n));
    // Bits past the length are irrelevant (RFC 4271 §4.3); clear them so equal prefixes compare equal.
    if (len % 8 !== 0) addr[n - 1]! &= (0xff << (8 - (len % 8))) & 0xff;
    out.push(`${ipFromBytes(addr)}/${len}`);
    at += 1 + n;
  }
  return out;
}

export function prefixFamily(prefix: Prefix): 4 | 6 {
  return prefix.includes(':') ? 6 : 4;
}
