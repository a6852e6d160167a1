// What one fuzz target is: how to generate an input from a seeded Rng, how to feed it to the decoder,
// and what the decoder's contract lets it throw.
import type { Rng } from './random.js';

export type Verdict = 'accepted' | 'rejected';

export interface FuzzTarget<I = unknown> {
  readonly name: string;
  /** Entry points exercised, for the report. */
  readonly covers: string;
  /**
   * Errors the decoder's contract allows it to throw (e.g. OvsdbDecodeError); anything else escaping is
   * a crash. Undefined: the decoder returns a result and must never throw.
   */
  readonly allowed?: (e: unknown) => boolean;
  generate(rng: Rng): I;
  /** Feeds one input; throws InvariantViolation when the decoder answered wrongly without throwing. */
  run(input: I): Verdict;
  /** Replayable form of the input for a failure report (hex for bytes, JSON/text otherwise). */
  show(input: I): string;
}

/** The decoder did not throw, but its answer breaks the contract (e.g. a session reset with no NOTIFICATION). */
export class InvariantViolation extends Error {
  override readonly name = 'InvariantViolation';
}

export const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
