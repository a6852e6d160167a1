// BGP-4 (src/speaker/bgp): message decoder, stream framer, path attributes, capabilities, NLRI, and the
// session FSM fed hostile bytes after a valid OPEN exchange.
import {
  BgpSession,
  decodeAttributes,
  decodeCapabilities,
  decodeMessage,
  decodePrefixes,
  encodeAttributes,
  encodeMessage,
  MessageFramer,
  type BgpMessage,
  type Capability,
  type PathAttributes,
  type SessionAction,
  type SessionCodecContext,
  type SessionConfig,
} from '../../../src/speaker/bgp/index.js';
import { ByteWriter } from '../../../src/speaker/bgp/codec/bytes.js';
import { encodeCapability } from '../../../src/speaker/bgp/codec/capabilities.js';
import { encodePrefix } from '../../../src/speaker/bgp/codec/nlri.js';
import { bytesInput, concat, mutate } from '../mutate.js';
import { Rng } from '../random.js';
import { hex, InvariantViolation, type FuzzTarget } from '../target.js';

const v4 = (rng: Rng) => `${rng.pick(['192.0.2', '198.51.100', '203.0.113'])}.${rng.int(256)}`;
const v6 = (rng: Rng) => `2001:db8:${rng.int(0x10000).toString(16)}::${rng.int(0x10000).toString(16)}`;
const prefix4 = (rng: Rng) => (rng.chance(0.7) ? `${v4(rng)}/32` : `${rng.pick(['192.0.2.0', '198.51.100.0', '10.0.0.0'])}/${rng.pick([0, 8, 16, 24, 25])}`);
const prefix6 = (rng: Rng) => (rng.chance(0.7) ? `${v6(rng)}/128` : `2001:db8::/${rng.pick([0, 32, 48, 64, 127])}`);

function capabilities(rng: Rng): Capability[] {
  const caps: Capability[] = [];
  for (let i = rng.int(6); i > 0; i--) {
    caps.push(
      rng.pick<() => Capability>([
        () => ({ kind: 'multiprotocol', afi: rng.pick([1, 2, 25]), safi: rng.pick([1, 2, 70]) }),
        () => ({ kind: 'routeRefresh' }),
        () => ({ kind: 'fourOctetAs', asn: rng.u32() }),
        () => ({ kind: 'gracefulRestart', restarting: rng.chance(0.5), notification: rng.chance(0.5), restartTime: rng.int(4096), families: [{ afi: 1, safi: 1, forwardingPreserved: rng.chance(0.5) }] }),
        () => ({ kind: 'unknown', code: rng.range(70, 255), value: rng.bytes(rng.int(8)) }),
      ])(),
    );
  }
  return caps;
}

function attributes(rng: Rng, ibgp: boolean, announce4: boolean): PathAttributes {
  const a: { -readonly [K in keyof PathAttributes]: PathAttributes[K] } = {};
  if (rng.chance(0.9)) a.origin = rng.int(3);
  if (rng.chance(0.9)) a.asPath = rng.chance(0.5) ? [] : [{ type: rng.pick([1, 2] as const), asns: Array.from({ length: rng.range(1, 5) }, () => rng.range(1, 4_200_000_000)) }];
  if (announce4 && rng.chance(0.9)) a.nextHop = v4(rng);
  if (rng.chance(0.3)) a.med = rng.u32();
  if (ibgp && rng.chance(0.8)) a.localPref = rng.u32();
  if (rng.chance(0.1)) a.atomicAggregate = true;
  if (rng.chance(0.1)) a.aggregator = { asn: rng.range(1, 65535), address: v4(rng) };
  if (rng.chance(0.4)) a.communities = Array.from({ length: rng.range(1, 6) }, () => rng.u32());
  if (rng.chance(0.2)) a.largeCommunities = Array.from({ length: rng.range(1, 3) }, () => ({ global: rng.u32(), local1: rng.u32(), local2: rng.u32() }));
  if (rng.chance(0.3)) a.mpReach = { afi: 2, safi: 1, nextHops: rng.chance(0.5) ? [v6(rng)] : [v6(rng), 'fe80::1'], nlri: Array.from({ length: rng.int(4) }, () => prefix6(rng)) };
  if (rng.chance(0.15)) a.mpUnreach = { afi: 2, safi: 1, withdrawn: Array.from({ length: rng.int(3) }, () => prefix6(rng)) };
  if (rng.chance(0.1)) a.unknown = [{ flags: 0xc0, type: rng.range(40, 250), value: rng.bytes(rng.int(10)) }];
  return a;
}

function validMessage(rng: Rng, ctx: SessionCodecContext): Uint8Array {
  const kind = rng.int(10);
  let m: BgpMessage;
  if (kind < 2) m = { type: 'open', version: 4, myAs: rng.range(1, 65535), holdTime: rng.pick([0, 3, 90, 180, 65535]), bgpId: v4(rng), capabilities: capabilities(rng) };
  else if (kind < 7) {
    const nlri = Array.from({ length: rng.int(4) }, () => prefix4(rng));
    m = { type: 'update', withdrawn: Array.from({ length: rng.int(3) }, () => prefix4(rng)), attributes: attributes(rng, ctx.ibgp, nlri.length > 0), nlri };
  } else if (kind < 8) m = { type: 'keepalive' };
  else if (kind < 9) m = { type: 'notification', code: rng.range(1, 6), subcode: rng.int(12), data: rng.bytes(rng.int(6)) };
  else m = { type: 'routeRefresh', afi: rng.pick([1, 2]), safi: 1 };
  try {
    return encodeMessage(m, ctx);
  } catch {
    return encodeMessage({ type: 'keepalive' });
  }
}

const CTX: SessionCodecContext[] = [
  { fourOctetAs: true, ibgp: false },
  { fourOctetAs: true, ibgp: true },
  { fourOctetAs: false, ibgp: false },
  { fourOctetAs: false, ibgp: true },
];

// Splice partners: a few fixed valid messages of every type.
const MESSAGE_CORPUS: Uint8Array[] = Array.from({ length: 24 }, (_, i) => validMessage(new Rng(1, i), CTX[i % 4]!));

interface BgpInput {
  readonly ctx: SessionCodecContext;
  readonly bytes: Uint8Array;
}
const showBgp = (i: BgpInput) => `ctx=${JSON.stringify(i.ctx)} ${hex(i.bytes)}`;

/** Messages are mostly header-valid so that the body decoders are reached: fix up the length field after mutating the body. */
function messageInput(rng: Rng): BgpInput {
  const ctx = rng.pick(CTX);
  let bytes = bytesInput(rng, () => validMessage(rng, ctx), MESSAGE_CORPUS, 200);
  if (rng.chance(0.5) && bytes.length >= 19 && bytes.length <= 4096) {
    bytes = bytes.slice();
    bytes.fill(0xff, 0, 16);
    bytes[16] = bytes.length >> 8;
    bytes[17] = bytes.length & 0xff;
  }
  return { ctx, bytes };
}

export const bgpMessageTarget: FuzzTarget<BgpInput> = {
  name: 'bgp.message',
  covers: 'decodeMessage (header, OPEN, UPDATE with RFC 7606 error handling, NOTIFICATION, ROUTE-REFRESH)',
  generate: messageInput,
  run({ ctx, bytes }) {
    const r = decodeMessage(bytes, ctx);
    if (!r.ok) {
      if (!(r.notification.code >= 1 && r.notification.code <= 7)) throw new InvariantViolation(`refusal carries NOTIFICATION code ${r.notification.code}`);
      // The NOTIFICATION we would send must itself encode.
      encodeMessage(r.notification);
      return 'rejected';
    }
    return 'accepted';
  },
  show: showBgp,
};

export const bgpFramerTarget: FuzzTarget<{ chunks: Uint8Array[] }> = {
  name: 'bgp.framer',
  covers: 'MessageFramer.push over a stream of valid/mutated messages cut at random points',
  generate(rng) {
    const ctx = rng.pick(CTX);
    const parts = Array.from({ length: rng.range(1, 4) }, () => (rng.chance(0.8) ? validMessage(rng, ctx) : mutate(rng, validMessage(rng, ctx), MESSAGE_CORPUS)));
    const stream = concat(...parts);
    const chunks: Uint8Array[] = [];
    let at = 0;
    while (at < stream.length) {
      const n = rng.range(1, Math.max(1, stream.length - at));
      chunks.push(stream.subarray(at, at + n));
      at += n;
    }
    return { chunks };
  },
  run({ chunks }) {
    const f = new MessageFramer();
    let total = 0;
    let framed = 0;
    for (const c of chunks) {
      total += c.length;
      const r = f.push(c);
      for (const m of r.frames) framed += m.length;
      if (r.error) return 'rejected';
    }
    if (framed > total) throw new InvariantViolation(`framer produced ${framed} bytes from ${total}`);
    return 'accepted';
  },
  show: ({ chunks }) => chunks.map(hex).join(' | '),
};

function validAttributeBytes(rng: Rng, ctx: SessionCodecContext): Uint8Array {
  return encodeAttributes(attributes(rng, ctx.ibgp, true), ctx);
}
const ATTR_CORPUS = MESSAGE_CORPUS.slice(0, 8);

export const bgpAttributesTarget: FuzzTarget<BgpInput> = {
  name: 'bgp.attributes',
  covers: 'decodeAttributes (every attribute type, flags, extended length, AS4_PATH, MP_REACH/UNREACH)',
  generate(rng) {
    const ctx = rng.pick(CTX);
    return { ctx, bytes: bytesInput(rng, () => validAttributeBytes(rng, ctx), ATTR_CORPUS, 200) };
  },
  run({ ctx, bytes }) {
    const r = decodeAttributes(bytes, ctx);
    return r.problems.length ? 'rejected' : 'accepted';
  },
  show: showBgp,
};

function validCapabilityBytes(rng: Rng): Uint8Array {
  const w = new ByteWriter();
  for (const c of capabilities(rng)) encodeCapability(c, w);
  return w.finish();
}

export const bgpCapabilitiesTarget: FuzzTarget<Uint8Array> = {
  name: 'bgp.capabilities',
  covers: 'decodeCapabilities (OPEN optional parameter 2)',
  generate: (rng) => bytesInput(rng, () => validCapabilityBytes(rng), [], 64),
  run: (bytes) => (decodeCapabilities(bytes) ? 'accepted' : 'rejected'),
  show: hex,
};

export const bgpNlriTarget: FuzzTarget<{ family: 4 | 6; bytes: Uint8Array }> = {
  name: 'bgp.nlri',
  covers: 'decodePrefixes (IPv4 and IPv6 NLRI)',
  generate(rng) {
    const family = rng.pick([4, 6] as const);
    const valid = () => {
      const w = new ByteWriter();
      for (let i = rng.int(5); i > 0; i--) encodePrefix(family === 4 ? prefix4(rng) : prefix6(rng), w);
      return w.finish();
    };
    return { family, bytes: bytesInput(rng, valid, [], 64) };
  },
  run({ family, bytes }) {
    const r = decodePrefixes(bytes, family);
    if (r) for (const p of r) if (!/^[0-9a-f.:]+\/\d+$/.test(p)) throw new InvariantViolation(`decoded prefix "${p}" is not a CIDR`);
    return r ? 'accepted' : 'rejected';
  },
  show: ({ family, bytes }) => `family=${family} ${hex(bytes)}`,
};

// ---------------------------------------------------------------------------------------------- FSM

const FSM_CONFIG: SessionConfig = {
  localAs: 64512,
  peerAs: 64513,
  routerId: '192.0.2.1',
  holdTime: 90,
  connectRetryTime: 120,
  passive: false,
  families: [{ afi: 1, safi: 1 }, { afi: 2, safi: 1 }],
  gracefulRestart: { restartTime: 120, restarting: false, forwardingPreserved: true },
};
const PEER_OPEN = encodeMessage({
  type: 'open', version: 4, myAs: 64513, holdTime: 30, bgpId: '192.0.2.2',
  capabilities: [{ kind: 'multiprotocol', afi: 1, safi: 1 }, { kind: 'multiprotocol', afi: 2, safi: 1 }, { kind: 'routeRefresh' }, { kind: 'fourOctetAs', asn: 64513 }],
});
const KEEPALIVE = encodeMessage({ type: 'keepalive' });
const ESTABLISHED_CTX: SessionCodecContext = { fourOctetAs: true, ibgp: false };

interface FsmInput {
  /** Stop after OPEN (OpenConfirm) instead of going Established. */
  readonly stage: 'openConfirm' | 'established';
  readonly chunks: Uint8Array[];
}

export const bgpFsmTarget: FuzzTarget<FsmInput> = {
  name: 'bgp.fsm',
  covers: 'BgpSession.handle(BytesReceived) after a valid OPEN exchange (OpenConfirm and Established)',
  generate(rng) {
    const n = rng.range(1, 3);
    const chunks = Array.from({ length: n }, () => {
      const m = messageInput(rng).bytes;
      return rng.chance(0.15) ? rng.bytes(rng.length(100)) : m;
    });
    return { stage: rng.chance(0.2) ? 'openConfirm' : 'established', chunks };
  },
  run({ stage, chunks }) {
    const s = new BgpSession(FSM_CONFIG, () => 1_000);
    s.handle({ type: 'ManualStart' });
    s.handle({ type: 'TcpConnected', conn: 1, direction: 'outbound' });
    s.handle({ type: 'BytesReceived', conn: 1, bytes: PEER_OPEN });
    if (stage === 'established') s.handle({ type: 'BytesReceived', conn: 1, bytes: KEEPALIVE });
    if (s.state !== (stage === 'established' ? 'Established' : 'OpenConfirm')) throw new InvariantViolation(`valid OPEN exchange left the session ${s.state}`);
    const actions: SessionAction[] = [];
    for (const bytes of chunks) actions.push(...s.handle({ type: 'BytesReceived', conn: 1, bytes }));
    const sentNotification = actions.some((a) => a.type === 'Send' && a.what === 'notification');
    const down = actions.find((a): a is Extract<SessionAction, { type: 'Down' }> => a.type === 'Down');
    // Reset by us on bad input: the peer must have been told why (RFC 4271 §6).
    if (down?.cause.kind === 'notificationSent' && !sentNotification) throw new InvariantViolation(`session reset (${down.reason}) without sending a NOTIFICATION`);
    // A single whole message that the decoder refuses must reset the session with a NOTIFICATION.
    if (chunks.length === 1 && stage === 'established') {
      const only = chunks[0]!;
      const d = only.length >= 19 ? decodeMessage(only, ESTABLISHED_CTX) : undefined;
      if (d && !d.ok && only.length === ((only[16]! << 8) | only[17]!) && !sentNotification) throw new InvariantViolation(`decoder refused the message (${d.reason}) but the FSM sent no NOTIFICATION`);
    }
    for (const a of actions) if (a.type === 'Send' && !decodeMessage(a.bytes).ok) throw new InvariantViolation(`FSM sent an undecodable ${a.what}`);
    if (sentNotification || down) return 'rejected';
    return actions.some((a) => a.type === 'UpdateReceived' && a.treatedAsWithdraw) ? 'rejected' : 'accepted';
  },
  show: ({ stage, chunks }) => `stage=${stage} ${chunks.map(hex).join(' | ')}`,
};
