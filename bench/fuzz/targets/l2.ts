// ARP and NDP frame parsers (src/speaker/l2): wire input straight off an AF_PACKET socket.
import { buildArpRequest, buildGratuitousArp, parseArp, parseArpRequest } from '../../../src/speaker/l2/arp.js';
import { readEthernetHeader } from '../../../src/speaker/l2/ethernet.js';
import {
  buildNeighborSolicitation,
  buildUnsolicitedNeighborAdvertisement,
  parseNeighborAdvertisement,
  parseNeighborSolicitation,
} from '../../../src/speaker/l2/ndp.js';
import { bytesInput } from '../mutate.js';
import type { Rng } from '../random.js';
import { hex, InvariantViolation, type FuzzTarget } from '../target.js';

const mac = (rng: Rng) => rng.bytes(6);
const v4 = (rng: Rng) => `${rng.pick(['192.0.2', '198.51.100', '203.0.113'])}.${rng.int(256)}`;
const v6 = (rng: Rng) => `2001:db8::${rng.int(0x10000).toString(16)}`;

function validArp(rng: Rng): Uint8Array {
  return rng.chance(0.6) ? buildArpRequest(mac(rng), v4(rng), v4(rng)) : buildGratuitousArp(mac(rng), v4(rng), rng.pick(['request', 'reply'] as const));
}
function validNdp(rng: Rng): Uint8Array {
  return rng.chance(0.6)
    ? buildNeighborSolicitation(mac(rng), rng.chance(0.2) ? '::' : v6(rng), v6(rng), rng.chance(0.7))
    : buildUnsolicitedNeighborAdvertisement(mac(rng), `fe80::${rng.int(0x10000).toString(16)}`, v6(rng));
}

const ARP_CORPUS = Array.from({ length: 4 }, (_, i) => buildArpRequest(Uint8Array.of(2, 0, 0, 0, 0, i), '192.0.2.1', `192.0.2.${i + 2}`));
const NDP_CORPUS = Array.from({ length: 4 }, (_, i) => buildNeighborSolicitation(Uint8Array.of(2, 0, 0, 0, 0, i), '2001:db8::1', `2001:db8::${i + 2}`));

export const arpTarget: FuzzTarget<Uint8Array> = {
  name: 'l2.arp',
  covers: 'readEthernetHeader, parseArp, parseArpRequest',
  generate: (rng) => bytesInput(rng, () => validArp(rng), ARP_CORPUS, 96),
  run(frame) {
    readEthernetHeader(frame);
    const any = parseArp(frame);
    const req = parseArpRequest(frame);
    if (req.ok && !any.ok) throw new InvariantViolation('parseArpRequest accepted a frame parseArp refused');
    if (any.ok && (any.value.senderMac.length !== 6 || any.value.targetMac.length !== 6)) throw new InvariantViolation('ARP MAC not 6 bytes');
    return req.ok ? 'accepted' : 'rejected';
  },
  show: hex,
};

export const ndpTarget: FuzzTarget<Uint8Array> = {
  name: 'l2.ndp',
  covers: 'parseNeighborSolicitation, parseNeighborAdvertisement (checksum, options, hop limit)',
  generate: (rng) => bytesInput(rng, () => validNdp(rng), NDP_CORPUS, 160),
  run(frame) {
    const ns = parseNeighborSolicitation(frame);
    const na = parseNeighborAdvertisement(frame);
    if (ns.ok && na.ok) throw new InvariantViolation('one frame parsed as both NS and NA');
    return ns.ok || na.ok ? 'accepted' : 'rejected';
  },
  show: hex,
};
