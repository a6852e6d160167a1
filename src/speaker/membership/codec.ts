// Wire format of the membership protocol: one authenticated binary datagram per message.
//
//   0  "IM" magic, u8 version (1), u8 type
//   4  u48 sentAt      sender's clock, ms since the epoch (freshness window against replays)
//  10  u48 bootAt      when the sending process started (a restart is a new replay-guard epoch)
//  16  u32 seq         per-process datagram counter (replay guard)
//  20  u32 incarnation sender's own incarnation (direct contact proves it alive at that number)
//  24  u8 len + sender node name
//      type-specific body, then u8 count + member records
//  -32 HMAC-SHA256 over every byte before it
//
// A record: u8 state, u32 incarnation, name, address, u16 port, "from" (who raised a suspicion
// or death; empty otherwise). Strings are u8-length-prefixed UTF-8. Every read is bounds-checked;
// decoding never throws, it returns the reason the datagram was dropped.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';

export const WIRE_VERSION = 1;
const MAGIC0 = 0x49; // 'I'
const MAGIC1 = 0x4d; // 'M'
const MAC_BYTES = 32;
const HEADER_FIXED = 24;
const MAX_U48 = 2 ** 48 - 1;

export const MessageType = { Ping: 1, Ack: 2, PingReq: 3, SyncRequest: 4, Sync: 5, Gossip: 6 } as const;
export type MessageType = (typeof MessageType)[keyof typeof MessageType];

export type MemberState = 'alive' | 'suspect' | 'dead' | 'left';
const STATE_CODES: readonly MemberState[] = ['alive', 'suspect', 'dead', 'left'];

export interface MemberRecord {
  readonly state: MemberState;
  readonly name: string;
  readonly incarnation: number;
  readonly address: string;
  readonly port: number;
  /** The member that raised a suspicion or declared a death ("" for alive/left). */
  readonly from: string;
}

export interface Envelope {
  readonly sentAt: number;
  readonly bootAt: number;
  readonly seq: number;
  readonly incarnation: number;
  readonly sender: string;
}

export type MessageBody =
  | { readonly type: typeof MessageType.Ping; readonly probe: number; readonly target: string }
  | { readonly type: typeof MessageType.Ack; readonly probe: number }
  | { readonly type: typeof MessageType.PingReq; readonly probe: number; readonly target: string; readonly address: string; readonly port: number }
  | { readonly type: typeof MessageType.SyncRequest }
  | { readonly type: typeof MessageType.Sync }
  | { readonly type: typeof MessageType.Gossip };

export interface DecodedMessage {
  readonly envelope: Envelope;
  readonly body: MessageBody;
  readonly records: readonly MemberRecord[];
}

export type DropReason = 'short' | 'badMagic' | 'badVersion' | 'badMac' | 'malformed';
export type DecodeResult = { ok: true; message: DecodedMessage } | { ok: false; reason: DropReason };

/** The HMAC key: the Secret's bytes hashed with a protocol label, so the raw secret is never used twice. */
export function deriveMacKey(secret: Uint8Array): Buffer {
  if (secret.length < 16) throw new Error(`membership key: need at least 16 bytes (MetalLB's Secret "memberlist" key "secretkey" holds 16), got ${secret.length}`);
  return createHash('sha256').update('ironlb membership v1\0').update(secret).digest();
}

const MAX_NAME = 253; // Kubernetes node names are DNS subdomains
const MAX_ADDRESS = 45;

/** Bytes a record takes on the wire. */
export function recordSize(r: MemberRecord): number {
  return 1 + 4 + 1 + Buffer.byteLength(r.name) + 1 + Buffer.byteLength(r.address) + 2 + 1 + Buffer.byteLength(r.from);
}

/**
 * Builds datagrams of one message: header and body once, then as many records as fit within
 * `maxBytes` (the rest are left to the caller; `take` reports how many went in).
 */
export class DatagramWriter {
  private readonly buf: Buffer;
  private pos = 0;
  private countAt = -1;
  private count = 0;

  constructor(maxBytes: number) {
    this.buf = Buffer.alloc(maxBytes);
  }

  header(type: MessageType, env: Envelope): this {
    this.u8(MAGIC0).u8(MAGIC1).u8(WIRE_VERSION).u8(type);
    this.u48(env.sentAt).u48(env.bootAt).u32(env.seq).u32(env.incarnation).str(env.sender);
    return this;
  }

  body(body: MessageBody): this {
    switch (body.type) {
      case MessageType.Ping:
        return this.u32(body.probe).str(body.target);
      case MessageType.Ack:
        return this.u32(body.probe);
      case MessageType.PingReq:
        return this.u32(body.probe).str(body.target).str(body.address).u16(body.port);
      default:
        return this;
    }
  }

  /** Room left for records, keeping space for the MAC. */
  get room(): number {
    return this.buf.length - MAC_BYTES - this.pos - (this.countAt < 0 ? 1 : 0);
  }

  /** Appends the record if it fits; returns whether it did. */
  record(r: MemberRecord): boolean {
    if (this.countAt < 0) {
      this.countAt = this.pos;
      this.u8(0);
    }
    if (this.count === 255 || recordSize(r) > this.buf.length - MAC_BYTES - this.pos) return false;
    this.u8(STATE_CODES.indexOf(r.state)).u32(r.incarnation).str(r.name).str(r.address).u16(r.port).str(r.from);
    this.count++;
    return true;
  }

  finish(macKey: Buffer): Buffer {
    if (this.countAt < 0) this.u8(0);
    else this.buf[this.countAt] = this.count;
    const mac = createHmac('sha256', macKey).update(this.buf.subarray(0, this.pos)).digest();
    mac.copy(this.buf, this.pos);
    return Buffer.from(this.buf.subarray(0, this.pos + MAC_BYTES));
  }

  private u8(v: number): this {
    this.buf.writeUInt8(v, this.pos);
    this.pos += 1;
    return this;
  }
  private u16(v: number): this {
    this.buf.writeUInt16BE(v, this.pos);
    this.pos += 2;
    return this;
  }
  private u32(v: number): this {
    this.buf.writeUInt32BE(v >>> 0, this.pos);
    this.pos += 4;
    return this;
  }
  private u48(v: number): this {
    this.buf.writeUIntBE(Math.min(Math.max(0, Math.floor(v)), MAX_U48), this.pos, 6);
    this.pos += 6;
    return this;
  }
  private str(s: string): this {
    const n = this.buf.write(s, this.pos + 1, 'utf8');
    if (n !== Buffer.byteLength(s) || n > 255) throw new Error(`membership codec: string "${s.slice(0, 40)}" does not fit the datagram`);
    this.buf.writeUInt8(n, this.pos);
    this.pos += 1 + n;
    return this;
  }
}

class Reader {
  pos = 0;
  constructor(private readonly buf: Uint8Array, private readonly end: number) {}
  private need(n: number): void {
    if (this.pos + n > this.end) throw new Malformed();
  }
  u8(): number {
    this.need(1);
    return this.buf[this.pos++] as number;
  }
  u16(): number {
    this.need(2);
    const v = ((this.buf[this.pos] as number) << 8) | (this.buf[this.pos + 1] as number);
    this.pos += 2;
    return v;
  }
  u32(): number {
    this.need(4);
    const b = this.buf;
    const p = this.pos;
    this.pos += 4;
    return (((b[p] as number) << 24) >>> 0) + (((b[p + 1] as number) << 16) | ((b[p + 2] as number) << 8) | (b[p + 3] as number));
  }
  u48(): number {
    const hi = this.u16();
    return hi * 2 ** 32 + this.u32();
  }
  str(max: number): string {
    const n = this.u8();
    if (n > max) throw new Malformed();
    this.need(n);
    const s = Buffer.from(this.buf.buffer, this.buf.byteOffset + this.pos, n).toString('utf8');
    // Invalid UTF-8 decodes to U+FFFD (3 bytes each): such a name could not be written back (found by bench/fuzz).
    if (Buffer.byteLength(s) !== n) throw new Malformed();
    this.pos += n;
    return s;
  }
  get done(): boolean {
    return this.pos === this.end;
  }
}

class Malformed extends Error {}

function name(r: Reader): string {
  const s = r.str(MAX_NAME);
  if (s.length === 0) throw new Malformed();
  return s;
}

function address(r: Reader): string {
  const s = r.str(MAX_ADDRESS);
  if (isIP(s) === 0) throw new Malformed();
  return s;
}

/** Checks length, magic, version and MAC, then parses; never throws. */
export function decodeDatagram(bytes: Uint8Array, macKey: Buffer): DecodeResult {
  if (bytes.length < HEADER_FIXED + 2 + 1 + MAC_BYTES) return { ok: false, reason: 'short' };
  if (bytes[0] !== MAGIC0 || bytes[1] !== MAGIC1) return { ok: false, reason: 'badMagic' };
  if (bytes[2] !== WIRE_VERSION) return { ok: false, reason: 'badVersion' };
  const signed = bytes.length - MAC_BYTES;
  const expected = createHmac('sha256', macKey).update(bytes.subarray(0, signed)).digest();
  if (!timingSafeEqual(expected, bytes.subarray(signed))) return { ok: false, reason: 'badMac' };
  try {
    const r = new Reader(bytes, signed);
    r.u8();
    r.u8();
    r.u8();
    const type = r.u8();
    const envelope: Envelope = { sentAt: r.u48(), bootAt: r.u48(), seq: r.u32(), incarnation: r.u32(), sender: name(r) };
    let body: MessageBody;
    switch (type) {
      case MessageType.Ping:
        body = { type, probe: r.u32(), target: name(r) };
        break;
      case MessageType.Ack:
        body = { type, probe: r.u32() };
        break;
      case MessageType.PingReq:
        body = { type, probe: r.u32(), target: name(r), address: address(r), port: r.u16() };
        break;
      case MessageType.SyncRequest:
      case MessageType.Sync:
      case MessageType.Gossip:
        body = { type };
        break;
      default:
        return { ok: false, reason: 'malformed' };
    }
    const count = r.u8();
    const records: MemberRecord[] = [];
    for (let i = 0; i < count; i++) {
      const code = r.u8();
      const state = STATE_CODES[code];
      if (state === undefined) throw new Malformed();
      const incarnation = r.u32();
      const n = name(r);
      const a = address(r);
      const port = r.u16();
      const from = r.str(MAX_NAME);
      records.push({ state, incarnation, name: n, address: a, port, from });
    }
    if (!r.done) throw new Malformed();
    return { ok: true, message: { envelope, body, records } };
  } catch (e) {
    if (e instanceof Malformed) return { ok: false, reason: 'malformed' };
    throw e;
  }
}
