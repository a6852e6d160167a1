// BFD Control packets (RFC 5880) off the UDP socket.
import { BfdState, controlPacket, decodeControlPacket, encodeControlPacket } from '../../../src/speaker/bfd/codec.js';
import { bytesInput } from '../mutate.js';
import type { Rng } from '../random.js';
import { hex, InvariantViolation, type FuzzTarget } from '../target.js';

function valid(rng: Rng): Uint8Array {
  const state = rng.pick([BfdState.AdminDown, BfdState.Down, BfdState.Init, BfdState.Up]);
  return encodeControlPacket(
    controlPacket({
      state,
      detectMultiplier: rng.range(1, 255),
      myDiscriminator: rng.range(1, 0xffffffff),
      yourDiscriminator: state === BfdState.Down || state === BfdState.AdminDown ? 0 : rng.range(1, 0xffffffff),
      desiredMinTxInterval: rng.pick([0, 10_000, 300_000, 1_000_000, 0xffffffff]),
      requiredMinRxInterval: rng.pick([0, 10_000, 300_000, 0xffffffff]),
    }),
  );
}
const CORPUS = Array.from({ length: 4 }, (_, i) =>
  encodeControlPacket(controlPacket({ state: BfdState.Up, detectMultiplier: 3, myDiscriminator: i + 1, yourDiscriminator: 7, desiredMinTxInterval: 300_000, requiredMinRxInterval: 300_000 })),
);

export const bfdTarget: FuzzTarget<Uint8Array> = {
  name: 'bfd.control',
  covers: 'decodeControlPacket (RFC 5880 §6.8.6 reception checks)',
  generate: (rng) => bytesInput(rng, () => valid(rng), CORPUS, 80),
  run(bytes) {
    const r = decodeControlPacket(bytes);
    if (r.ok && r.packet.detectMultiplier === 0) throw new InvariantViolation('accepted Detect Mult 0');
    return r.ok ? 'accepted' : 'rejected';
  },
  show: hex,
};
