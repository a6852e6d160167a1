// Gossip membership datagrams (src/speaker/membership). Most inputs are re-signed after mutation with
// the cluster key, so the parser behind the HMAC check is what gets fuzzed; the rest test the checks
// in front of it (short, magic, version, MAC).
import { createHmac } from 'node:crypto';
import { DatagramWriter, decodeDatagram, deriveMacKey, MessageType, type MemberRecord, type MessageBody } from '../../../src/speaker/membership/codec.js';
import { MembershipCore } from '../../../src/speaker/membership/core.js';
import { bytesInput } from '../mutate.js';
import { Rng } from '../random.js';
import { hex, InvariantViolation, type FuzzTarget } from '../target.js';

const KEY = Buffer.from('ironlb-fuzz-key-0123456789abcdef');
const MAC_KEY = deriveMacKey(KEY);
const NOW = 1_750_000_000_000;

const nodeName = (rng: Rng) => rng.pick(['node-a', 'node-b', 'node-c', 'worker-1', 'x'.repeat(rng.range(1, 253))]);
const addr = (rng: Rng) => (rng.chance(0.7) ? `192.0.2.${rng.int(256)}` : `2001:db8::${rng.int(0xffff).toString(16)}`);

function validDatagram(rng: Rng): Uint8Array {
  const type = rng.pick([MessageType.Ping, MessageType.Ack, MessageType.PingReq, MessageType.SyncRequest, MessageType.Sync, MessageType.Gossip]);
  const body: MessageBody =
    type === MessageType.Ping ? { type, probe: rng.u32(), target: nodeName(rng) }
    : type === MessageType.Ack ? { type, probe: rng.u32() }
    : type === MessageType.PingReq ? { type, probe: rng.u32(), target: nodeName(rng), address: addr(rng), port: rng.int(65536) }
    : { type };
  const w = new DatagramWriter(1400)
    .header(type, { sentAt: NOW + rng.range(-5000, 5000), bootAt: NOW - rng.int(1_000_000), seq: rng.u32(), incarnation: rng.int(100), sender: nodeName(rng) })
    .body(body);
  for (let i = rng.int(6); i > 0; i--) {
    const r: MemberRecord = { state: rng.pick(['alive', 'suspect', 'dead', 'left'] as const), incarnation: rng.int(100), name: nodeName(rng), address: addr(rng), port: rng.int(65536), from: rng.chance(0.5) ? '' : nodeName(rng) };
    if (!w.record(r)) break;
  }
  return w.finish(MAC_KEY);
}

/** Recomputes the trailing HMAC so that the mutated body reaches the parser. */
function resign(b: Uint8Array): Uint8Array {
  if (b.length < 33) return b;
  const out = Buffer.from(b);
  createHmac('sha256', MAC_KEY).update(out.subarray(0, out.length - 32)).digest().copy(out, out.length - 32);
  return out;
}

const CORPUS = Array.from({ length: 8 }, (_, i) => validDatagram(new Rng(2, i)));

function datagramInput(rng: Rng): Uint8Array {
  const b = bytesInput(rng, () => validDatagram(rng), CORPUS, 200);
  return rng.chance(0.75) ? resign(b) : b;
}

export const gossipCodecTarget: FuzzTarget<Uint8Array> = {
  name: 'gossip.codec',
  covers: 'decodeDatagram (length, magic, version, HMAC, envelope, bodies, member records)',
  generate: datagramInput,
  run(bytes) {
    const r = decodeDatagram(bytes, MAC_KEY);
    if (r.ok && r.message.records.some((m) => !['alive', 'suspect', 'dead', 'left'].includes(m.state))) throw new InvariantViolation('decoded an unknown member state');
    return r.ok ? 'accepted' : 'rejected';
  },
  show: hex,
};

export const gossipCoreTarget: FuzzTarget<Uint8Array[]> = {
  name: 'gossip.core',
  covers: 'MembershipCore.receive with 1-4 hostile datagrams (signed and unsigned), then tick()',
  generate: (rng) => Array.from({ length: rng.range(1, 4) }, () => datagramInput(rng)),
  run(datagrams) {
    const core = new MembershipCore({ nodeName: 'node-self', address: '192.0.2.250', port: 7946, key: KEY, seeds: [{ address: '192.0.2.251', port: 7946 }], random: () => 0.5 });
    core.start(NOW);
    let now = NOW;
    for (const d of datagrams) {
      core.receive({ address: '192.0.2.251', port: 7946 }, d, (now += 10));
      core.tick((now += 100));
    }
    const s = core.stats;
    const dropped = Object.values(s.dropped).reduce((a, b) => a + b, 0);
    if (dropped > datagrams.length) throw new InvariantViolation(`dropped ${dropped} of ${datagrams.length} datagrams`);
    return dropped === datagrams.length ? 'rejected' : 'accepted';
  },
  show: (ds) => ds.map(hex).join(' | '),
};
