// Structure-blind byte mutations applied to valid messages: bit flips, truncation, extension, length
// fields that lie, splicing two messages, repeating a slice. Decoders that parse TLVs and length-prefixed
// fields fail on exactly these.
import type { Rng } from './random.js';

const INTERESTING_U8 = [0, 1, 2, 3, 4, 0x7f, 0x80, 0xfe, 0xff];
const INTERESTING_U16 = [0, 1, 2, 3, 4, 18, 19, 20, 23, 29, 0xff, 0x100, 0x7fff, 0x8000, 0xfff, 0x1000, 0xfffe, 0xffff];

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** One mutation step; `corpus` supplies the other half of a splice. */
export function mutateOnce(rng: Rng, input: Uint8Array, corpus: readonly Uint8Array[]): Uint8Array {
  const b = input.slice();
  const at = () => rng.int(Math.max(1, b.length));
  switch (rng.int(10)) {
    case 0: // bit flips
      for (let i = rng.range(1, 4); i > 0 && b.length; i--) b[at()]! ^= 1 << rng.int(8);
      return b;
    case 1: // random bytes overwritten
      for (let i = rng.range(1, 4); i > 0 && b.length; i--) b[at()] = rng.int(256);
      return b;
    case 2: // truncation
      return b.subarray(0, rng.int(b.length + 1));
    case 3: // extension with random or zero bytes
      return concat(b, rng.chance(0.5) ? rng.bytes(rng.length(64)) : new Uint8Array(rng.length(64)));
    case 4: {
      // a one-byte length field that lies
      if (b.length) b[at()] = rng.chance(0.7) ? rng.pick(INTERESTING_U8) : (b[at()]! + rng.range(-2, 2)) & 0xff;
      return b;
    }
    case 5: {
      // a two-byte length field that lies
      if (b.length >= 2) {
        const i = rng.int(b.length - 1);
        const v = rng.chance(0.6) ? rng.pick(INTERESTING_U16) : ((b[i]! << 8) | b[i + 1]!) + rng.range(-3, 3);
        b[i] = (v >> 8) & 0xff;
        b[i + 1] = v & 0xff;
      }
      return b;
    }
    case 6: {
      // splice: head of this one, tail of another
      const other = corpus.length ? rng.pick(corpus) : rng.bytes(rng.length(64));
      return concat(b.subarray(0, rng.int(b.length + 1)), other.subarray(rng.int(other.length + 1)));
    }
    case 7: {
      // repeat a slice (repeated fields/TLVs)
      if (!b.length) return b;
      const s = at();
      const e = Math.min(b.length, s + rng.range(1, 32));
      const slice = b.subarray(s, e);
      const reps = rng.range(1, 8);
      return concat(b.subarray(0, e), ...Array.from({ length: reps }, () => slice), b.subarray(e));
    }
    case 8: {
      // delete a slice
      const s = at();
      return concat(b.subarray(0, s), b.subarray(Math.min(b.length, s + rng.range(1, 16))));
    }
    default: {
      // insert random bytes
      const s = at();
      return concat(b.subarray(0, s), rng.bytes(rng.range(1, 16)), b.subarray(s));
    }
  }
}

export function mutate(rng: Rng, input: Uint8Array, corpus: readonly Uint8Array[], maxSteps = 4): Uint8Array {
  let out = input;
  for (let i = rng.range(1, maxSteps); i > 0; i--) out = mutateOnce(rng, out, corpus);
  return out;
}

/** The usual mix: 20% pure random bytes, 15% valid as generated, 65% mutated valid. */
export function bytesInput(rng: Rng, valid: () => Uint8Array, corpus: readonly Uint8Array[], maxRandom = 128): Uint8Array {
  const r = rng.int(100);
  if (r < 20) return rng.bytes(rng.length(maxRandom));
  if (r < 35) return valid();
  return mutate(rng, valid(), corpus);
}

export { concat };
