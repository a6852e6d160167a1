// BFD Control packet codec (RFC 5880 §4.1) with the packet-level reception checks of §6.8.6.
// Pure: no I/O. Decoding never throws; a rejected packet comes back with the reason.
// Authentication (A bit) is not implemented: such packets are rejected with a clear reason,
// which is what §6.8.6 requires of a system that has no authentication configured.

export const BFD_VERSION = 1;
/** Mandatory section length; the minimum valid Length when the A bit is clear. */
export const BFD_HEADER_LENGTH = 24;
/** Minimum Length with the A bit set (24 + Auth Type + Auth Len). */
export const BFD_MIN_AUTH_LENGTH = 26;

export const BfdState = { AdminDown: 0, Down: 1, Init: 2, Up: 3 } as const;
export type BfdState = (typeof BfdState)[keyof typeof BfdState];
export const BFD_STATE_NAMES: Readonly<Record<BfdState, string>> = { 0: 'AdminDown', 1: 'Down', 2: 'Init', 3: 'Up' };

/** Diagnostic codes, RFC 5880 §4.1. */
export const BfdDiagnostic = {
  None: 0,
  ControlDetectionTimeExpired: 1,
  EchoFunctionFailed: 2,
  NeighborSignaledSessionDown: 3,
  ForwardingPlaneReset: 4,
  PathDown: 5,
  ConcatenatedPathDown: 6,
  AdministrativelyDown: 7,
  ReverseConcatenatedPathDown: 8,
} as const;
export type BfdDiagnostic = number;
const DIAGNOSTIC_NAMES: readonly string[] = [
  'No Diagnostic',
  'Control Detection Time Expired',
  'Echo Function Failed',
  'Neighbor Signaled Session Down',
  'Forwarding Plane Reset',
  'Path Down',
  'Concatenated Path Down',
  'Administratively Down',
  'Reverse Concatenated Path Down',
];
export function diagnosticName(code: number): string {
  return DIAGNOSTIC_NAMES[code] ?? `Reserved (${code})`;
}

export interface BfdControlPacket {
  readonly version: number;
  readonly diagnostic: number;
  readonly state: BfdState;
  readonly poll: boolean;
  readonly final: boolean;
  readonly controlPlaneIndependent: boolean;
  readonly authenticationPresent: boolean;
  readonly demand: boolean;
  readonly multipoint: boolean;
  readonly detectMultiplier: number;
  readonly myDiscriminator: number;
  readonly yourDiscriminator: number;
  /** Microseconds, as on the wire. */
  readonly desiredMinTxInterval: number;
  readonly requiredMinRxInterval: number;
  readonly requiredMinEchoRxInterval: number;
}

export type DecodeResult = { readonly ok: true; readonly packet: BfdControlPacket } | { readonly ok: false; readonly reason: string };

/** The fields a sender chooses; the rest get RFC defaults (version 1, no auth, no multipoint). */
export type BfdPacketFields = Pick<BfdControlPacket, 'state' | 'detectMultiplier' | 'myDiscriminator' | 'yourDiscriminator' | 'desiredMinTxInterval' | 'requiredMinRxInterval'> &
  Partial<Pick<BfdControlPacket, 'diagnostic' | 'poll' | 'final' | 'controlPlaneIndependent' | 'demand' | 'requiredMinEchoRxInterval'>>;

export function controlPacket(fields: BfdPacketFields): BfdControlPacket {
  return {
    version: BFD_VERSION,
    diagnostic: 0,
    poll: false,
    final: false,
    controlPlaneIndependent: false,
    authenticationPresent: false,
    demand: false,
    multipoint: false,
    requiredMinEchoRxInterval: 0,
    ...fields,
  };
}

const U32_MAX = 0xffff_ffff;

/** Encodes a packet without an authentication section (we never set the A bit). */
export function encodeControlPacket(p: BfdControlPacket): Buffer {
  if (p.poll && p.final) throw new Error('BFD packet with both Poll and Final set (RFC 5880 §6.5 forbids it)');
  if (p.authenticationPresent) throw new Error('BFD authentication is not implemented; cannot encode a packet with the A bit');
  for (const [name, v, max] of [
    ['version', p.version, 7], ['diagnostic', p.diagnostic, 31], ['state', p.state, 3], ['detectMultiplier', p.detectMultiplier, 255],
    ['myDiscriminator', p.myDiscriminator, U32_MAX], ['yourDiscriminator', p.yourDiscriminator, U32_MAX],
    ['desiredMinTxInterval', p.desiredMinTxInterval, U32_MAX], ['requiredMinRxInterval', p.requiredMinRxInterval, U32_MAX],
    ['requiredMinEchoRxInterval', p.requiredMinEchoRxInterval, U32_MAX],
  ] as const) {
    if (!Number.isInteger(v) || v < 0 || v > max) throw new Error(`BFD packet field ${name}=${v} is outside 0..${max}`);
  }
  const b = Buffer.alloc(BFD_HEADER_LENGTH);
  b[0] = (p.version << 5) | p.diagnostic;
  b[1] = (p.state << 6) | (p.poll ? 0x20 : 0) | (p.final ? 0x10 : 0) | (p.controlPlaneIndependent ? 0x08 : 0) | (p.demand ? 0x02 : 0) | (p.multipoint ? 0x01 : 0);
  b[2] = p.detectMultiplier;
  b[3] = BFD_HEADER_LENGTH;
  b.writeUInt32BE(p.myDiscriminator, 4);
  b.writeUInt32BE(p.yourDiscriminator, 8);
  b.writeUInt32BE(p.desiredMinTxInterval, 12);
  b.writeUInt32BE(p.requiredMinRxInterval, 16);
  b.writeUInt32BE(p.requiredMinEchoRxInterval, 20);
  return b;
}

/**
 * Decodes one UDP payload and applies the checks of RFC 5880 §6.8.6 that need no session:
 * version, Length, Detect Mult, Multipoint, My Discriminator, Your Discriminator versus State,
 * and the A bit (rejected: no authentication is configured or implemented). Session selection by
 * Your Discriminator is the caller's job.
 */
export function decodeControlPacket(data: Uint8Array): DecodeResult {
  const fail = (reason: string): DecodeResult => ({ ok: false, reason });
  if (data.length < 4) return fail(`too short: ${data.length} bytes, a BFD Control packet has at least ${BFD_HEADER_LENGTH}`);
  const b = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const version = b[0]! >> 5;
  if (version !== BFD_VERSION) return fail(`version ${version}, only version 1 exists`);
  const flags = b[1]!;
  const authenticationPresent = (flags & 0x04) !== 0;
  const length = b[3]!;
  const minLength = authenticationPresent ? BFD_MIN_AUTH_LENGTH : BFD_HEADER_LENGTH;
  if (length < minLength) return fail(`Length field ${length} is below the minimum ${minLength}${authenticationPresent ? ' for a packet with the A bit' : ''}`);
  if (length > b.length) return fail(`Length field ${length} is larger than the ${b.length}-byte payload`);
  if (b.length < BFD_HEADER_LENGTH) return fail(`too short: ${b.length} bytes`);
  const detectMultiplier = b[2]!;
  if (detectMultiplier === 0) return fail('Detect Mult is zero');
  const multipoint = (flags & 0x01) !== 0;
  if (multipoint) return fail('Multipoint (M) bit is set; it is reserved and must be zero');
  const myDiscriminator = b.readUInt32BE(4);
  if (myDiscriminator === 0) return fail('My Discriminator is zero');
  const yourDiscriminator = b.readUInt32BE(8);
  const state = (flags >> 6) as BfdState;
  if (yourDiscriminator === 0 && state !== BfdState.Down && state !== BfdState.AdminDown) {
    return fail(`Your Discriminator is zero while State is ${BFD_STATE_NAMES[state]} (only Down or AdminDown may omit it)`);
  }
  const poll = (flags & 0x20) !== 0;
  const final = (flags & 0x10) !== 0;
  if (poll && final) return fail('both Poll and Final bits are set');
  if (authenticationPresent) {
    const authType = b[BFD_HEADER_LENGTH]!;
    return fail(`authentication section present (Auth Type ${authType}) but no authentication is configured: ironlb implements BFD without authentication only`);
  }
  return {
    ok: true,
    packet: {
      version,
      diagnostic: b[0]! & 0x1f,
      state,
      poll,
      final,
      controlPlaneIndependent: (flags & 0x08) !== 0,
      authenticationPresent,
      demand: (flags & 0x02) !== 0,
      multipoint,
      detectMultiplier,
      myDiscriminator,
      yourDiscriminator,
      desiredMinTxInterval: b.readUInt32BE(12),
      requiredMinRxInterval: b.readUInt32BE(16),
      requiredMinEchoRxInterval: b.readUInt32BE(20),
    },
  };
}
