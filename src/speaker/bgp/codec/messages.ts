// BGP-4 messages (RFC 4271 §4) and ROUTE-REFRESH (RFC 2918). Decoding never throws.
import { ipFromBytes, ipToBytes } from '../../../net/address.js';
import { ByteWriter, readU16, readU32, u16Bytes } from './bytes.js';
import {
  decodeAttributes,
  encodeAttributes,
  type AttributeProblem,
  type PathAttributes,
  type SessionCodecContext,
} from './attributes.js';
import { decodeCapabilities, encodeCapability, type Capability } from './capabilities.js';
import { ErrorCode, HeaderSubcode, notification, OpenSubcode, RouteRefreshSubcode, UpdateSubcode, type NotificationMessage } from './errors.js';
import { decodePrefixes, encodePrefix, type Prefix } from './nlri.js';

export const HEADER_LENGTH = 19;
export const MAX_MESSAGE_LENGTH = 4096; // RFC 4271 §4.1 (RFC 8654 not negotiated)
export const MessageType = { Open: 1, Update: 2, Notification: 3, Keepalive: 4, RouteRefresh: 5 } as const;

export interface OpenMessage {
  readonly type: 'open';
  readonly version: number;
  /** The 2-octet My Autonomous System field (AS_TRANS when the real AS does not fit, RFC 6793 §4.1). */
  readonly myAs: number;
  readonly holdTime: number;
  /** Dotted IPv4 text. */
  readonly bgpId: string;
  readonly capabilities: readonly Capability[];
  /** Optional parameters other than Capabilities (type 2), kept for the "unsupported" check. */
  readonly otherParameters?: readonly { readonly type: number; readonly value: Uint8Array }[];
}

export interface UpdateMessage {
  readonly type: 'update';
  /** IPv4 unicast withdrawals of the Withdrawn Routes field. */
  readonly withdrawn: readonly Prefix[];
  readonly attributes: PathAttributes;
  /** IPv4 unicast NLRI field. */
  readonly nlri: readonly Prefix[];
}

export interface KeepaliveMessage {
  readonly type: 'keepalive';
}

export interface RouteRefreshMessage {
  readonly type: 'routeRefresh';
  readonly afi: number;
  readonly safi: number;
}

export type BgpMessage = OpenMessage | UpdateMessage | NotificationMessage | KeepaliveMessage | RouteRefreshMessage;

// ---------------------------------------------------------------------------------------------- encoding

function frame(type: number, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(HEADER_LENGTH + body.length);
  out.fill(0xff, 0, 16); // Marker: all ones (RFC 4271 §4.1)
  out[16] = (out.length >>> 8) & 0xff;
  out[17] = out.length & 0xff;
  out[18] = type;
  out.set(body, HEADER_LENGTH);
  return out;
}

function encodeOpen(m: OpenMessage): Uint8Array {
  const params = new ByteWriter();
  const paramList: { type: number; value: Uint8Array }[] = [];
  if (m.capabilities.length) {
    const caps = new ByteWriter();
    for (const c of m.capabilities) encodeCapability(c, caps);
    paramList.push({ type: 2, value: caps.finish() });
  }
  paramList.push(...(m.otherParameters ?? []));
  const plainLength = paramList.reduce((n, p) => n + 2 + p.value.length, 0);
  // RFC 9072: when parameters do not fit the one-octet lengths, use the extended form.
  const extended = plainLength > 255 || paramList.some((p) => p.value.length > 255);
  for (const p of paramList) {
    params.u8(p.type);
    extended ? params.u16(p.value.length) : params.u8(p.value.length);
    params.bytes(p.value);
  }
  const w = new ByteWriter().u8(m.version).u16(m.myAs).u16(m.holdTime).bytes(ipToBytes(m.bgpId) ?? new Uint8Array(4));
  if (extended) w.u8(255).u8(255).u16(params.length);
  else w.u8(params.length);
  return frame(MessageType.Open, w.bytes(params.finish()).finish());
}

/** Encodes one message. UPDATEs need the session context (AS size); throws only on caller bugs (bad addresses, > 4096 bytes). */
export function encodeMessage(m: BgpMessage, ctx: SessionCodecContext = { fourOctetAs: true, ibgp: false }): Uint8Array {
  let out: Uint8Array;
  switch (m.type) {
    case 'open':
      out = encodeOpen(m);
      break;
    case 'update': {
      const w = new ByteWriter();
      const wd = new ByteWriter();
      for (const p of m.withdrawn) encodePrefix(p, wd);
      const attrs = encodeAttributes(m.attributes, ctx);
      w.u16(wd.length).bytes(wd.finish()).u16(attrs.length).bytes(attrs);
      for (const p of m.nlri) encodePrefix(p, w);
      out = frame(MessageType.Update, w.finish());
      break;
    }
    case 'notification':
      out = frame(MessageType.Notification, new ByteWriter().u8(m.code).u8(m.subcode).bytes(m.data).finish());
      break;
    case 'keepalive':
      out = frame(MessageType.Keepalive, new Uint8Array(0));
      break;
    case 'routeRefresh':
      out = frame(MessageType.RouteRefresh, new ByteWriter().u16(m.afi).u8(0).u8(m.safi).finish());
      break;
  }
  if (out.length > MAX_MESSAGE_LENGTH) throw new RangeError(`BGP ${m.type} message of ${out.length} bytes exceeds 4096`);
  return out;
}

// ---------------------------------------------------------------------------------------------- decoding

export type DecodeResult =
  | {
      readonly ok: true;
      readonly message: BgpMessage;
      /** UPDATE only: RFC 7606 problems that did not reset the session (discarded attributes, treat-as-withdraw). */
      readonly problems?: readonly AttributeProblem[];
      /** UPDATE only: the announced prefixes were moved to withdrawals (RFC 7606 treat-as-withdraw). */
      readonly treatedAsWithdraw?: boolean;
    }
  | { readonly ok: false; readonly notification: NotificationMessage; readonly reason: string };

type DecodeFailure = Extract<DecodeResult, { ok: false }>;

const fail = (code: number, subcode: number, reason: string, data?: Uint8Array): DecodeFailure => ({
  ok: false,
  notification: notification(code, subcode, data),
  reason,
});

/** Checks the 19-byte header (RFC 4271 §6.1); returns the message length or the failure. */
export function checkHeader(h: Uint8Array): { ok: true; length: number; type: number } | DecodeFailure {
  for (let i = 0; i < 16; i++) {
    if (h[i] !== 0xff) return fail(ErrorCode.MessageHeader, HeaderSubcode.ConnectionNotSynchronized, 'marker is not all ones');
  }
  const length = readU16(h, 16);
  const type = h[18]!;
  const badLength = () => fail(ErrorCode.MessageHeader, HeaderSubcode.BadMessageLength, `bad message length ${length}`, u16Bytes(length));
  if (length < HEADER_LENGTH || length > MAX_MESSAGE_LENGTH) return badLength();
  const min: Record<number, number> = { 1: 29, 2: 23, 3: 21, 4: 19, 5: 23 };
  const need = min[type];
  if (need === undefined) return fail(ErrorCode.MessageHeader, HeaderSubcode.BadMessageType, `unknown message type ${type}`, Uint8Array.of(type));
  if (length < need || (type === MessageType.Keepalive && length !== 19)) return badLength();
  // RFC 7313 §5: a ROUTE-REFRESH of the wrong length has its own error code.
  if (type === MessageType.RouteRefresh && length !== 23) {
    return fail(ErrorCode.RouteRefresh, RouteRefreshSubcode.InvalidMessageLength, `ROUTE-REFRESH length ${length}`, h.slice(0, Math.min(h.length, length)));
  }
  return { ok: true, length, type };
}

/** Decodes exactly one whole message (header included). */
export function decodeMessage(b: Uint8Array, ctx: SessionCodecContext = { fourOctetAs: true, ibgp: false }): DecodeResult {
  if (b.length < HEADER_LENGTH) return fail(ErrorCode.MessageHeader, HeaderSubcode.BadMessageLength, `message of ${b.length} bytes is shorter than a header`, u16Bytes(b.length));
  const h = checkHeader(b);
  if (!h.ok) return h;
  if (h.length !== b.length) return fail(ErrorCode.MessageHeader, HeaderSubcode.BadMessageLength, `length field ${h.length} but ${b.length} bytes`, u16Bytes(h.length));
  const body = b.subarray(HEADER_LENGTH);
  switch (h.type) {
    case MessageType.Open:
      return decodeOpen(body);
    case MessageType.Update:
      return decodeUpdate(body, ctx);
    case MessageType.Notification:
      return { ok: true, message: notification(body[0]!, body[1]!, body.slice(2)) };
    case MessageType.Keepalive:
      return { ok: true, message: { type: 'keepalive' } };
    default:
      return { ok: true, message: { type: 'routeRefresh', afi: readU16(body, 0), safi: body[3]! } };
  }
}

function decodeOpen(body: Uint8Array): DecodeResult {
  const version = body[0]!;
  // RFC 4271 §6.2: data = the largest version we support.
  if (version !== 4) return fail(ErrorCode.Open, OpenSubcode.UnsupportedVersion, `BGP version ${version}`, u16Bytes(4));
  const myAs = readU16(body, 1);
  const holdTime = readU16(body, 3);
  const bgpId = ipFromBytes(body.subarray(5, 9));
  let paramLen = body[9]!;
  let at = 10;
  let extended = false;
  // RFC 9072 §2: Opt Parm Len 255 followed by Non-Ext OP Type 255 announces 2-octet lengths.
  if (paramLen === 255 && body[10] === 255) {
    if (body.length < 13) return fail(ErrorCode.Open, OpenSubcode.Unspecific, 'extended optional parameters length cut short');
    extended = true;
    paramLen = readU16(body, 11);
    at = 13;
  }
  if (at + paramLen !== body.length) return fail(ErrorCode.Open, OpenSubcode.Unspecific, `optional parameters length ${paramLen} does not match the message`);
  const capabilities: Capability[] = [];
  const others: { type: number; value: Uint8Array }[] = [];
  const end = at + paramLen;
  while (at < end) {
    const hl = extended ? 3 : 2;
    if (at + hl > end) return fail(ErrorCode.Open, OpenSubcode.Unspecific, 'optional parameter header cut short');
    const type = body[at]!;
    const len = extended ? readU16(body, at + 1) : body[at + 1]!;
    if (at + hl + len > end) return fail(ErrorCode.Open, OpenSubcode.Unspecific, `optional parameter ${type} overruns the parameters`);
    const v = body.subarray(at + hl, at + hl + len);
    at += hl + len;
    if (type === 2) {
      const caps = decodeCapabilities(v);
      if (!caps) return fail(ErrorCode.Open, OpenSubcode.Unspecific, 'malformed capability');
      capabilities.push(...caps);
    } else others.push({ type, value: v.slice() });
  }
  const open: OpenMessage = { type: 'open', version, myAs, holdTime, bgpId, capabilities, ...(others.length ? { otherParameters: others } : {}) };
  // Only optional parameter 2 (Capabilities) is defined for BGP-4 today (RFC 4271 §6.2, RFC 5492).
  if (others.length) return fail(ErrorCode.Open, OpenSubcode.UnsupportedOptionalParameter, `unsupported optional parameter ${others[0]!.type}`);
  if (holdTime === 1 || holdTime === 2) return fail(ErrorCode.Open, OpenSubcode.UnacceptableHoldTime, `hold time ${holdTime} s (must be 0 or >= 3)`);
  if (readU32(body, 5) === 0) return fail(ErrorCode.Open, OpenSubcode.BadBgpIdentifier, 'BGP identifier 0.0.0.0');
  return { ok: true, message: open };
}

function decodeUpdate(body: Uint8Array, ctx: SessionCodecContext): DecodeResult {
  const malformed = (reason: string) => fail(ErrorCode.Update, UpdateSubcode.MalformedAttributeList, reason);
  const wdLen = readU16(body, 0);
  if (2 + wdLen + 2 > body.length) return malformed(`Withdrawn Routes Length ${wdLen} overruns the message`);
  const attrLen = readU16(body, 2 + wdLen);
  if (4 + wdLen + attrLen > body.length) return malformed(`Total Path Attribute Length ${attrLen} overruns the message`);
  // RFC 7606 §5.3: unparseable withdrawn routes or NLRI => session reset.
  const withdrawn = decodePrefixes(body.subarray(2, 2 + wdLen), 4);
  if (!withdrawn) return fail(ErrorCode.Update, UpdateSubcode.InvalidNetworkField, 'withdrawn routes field is malformed');
  const nlri = decodePrefixes(body.subarray(4 + wdLen + attrLen), 4);
  if (!nlri) return fail(ErrorCode.Update, UpdateSubcode.InvalidNetworkField, 'NLRI field is malformed');
  const { attributes, problems: attrProblems } = decodeAttributes(body.subarray(4 + wdLen, 4 + wdLen + attrLen), ctx);
  const problems = [...attrProblems];
  const reset = problems.find((p) => p.action === 'sessionReset');
  if (reset) return fail(ErrorCode.Update, reset.subcode ?? UpdateSubcode.MalformedAttributeList, reset.reason, reset.data);
  const reach = attributes.mpReach;
  const announces = nlri.length > 0 || (reach !== undefined && reach.nlri.length > 0);
  if (announces) {
    // RFC 7606 §3 d: missing well-known mandatory attributes => treat-as-withdraw.
    const missing: string[] = [];
    if (attributes.origin === undefined) missing.push('ORIGIN');
    if (attributes.asPath === undefined) missing.push('AS_PATH');
    if (nlri.length > 0 && attributes.nextHop === undefined) missing.push('NEXT_HOP');
    if (ctx.ibgp && attributes.localPref === undefined) missing.push('LOCAL_PREF');
    if (missing.length && !problems.some((p) => p.action === 'treatAsWithdraw')) {
      problems.push({ type: 0, action: 'treatAsWithdraw', reason: `missing well-known attribute ${missing.join(', ')}` });
    }
  }
  const asWithdraw = announces && problems.some((p) => p.action === 'treatAsWithdraw');
  if (asWithdraw) {
    const attrs: PathAttributes = {
      ...(reach ? { mpUnreach: { afi: reach.afi, safi: reach.safi, withdrawn: [...(attributes.mpUnreach?.withdrawn ?? []), ...reach.nlri] } } : attributes.mpUnreach ? { mpUnreach: attributes.mpUnreach } : {}),
    };
    return {
      ok: true,
      message: { type: 'update', withdrawn: [...withdrawn, ...nlri], attributes: attrs, nlri: [] },
      problems,
      treatedAsWithdraw: true,
    };
  }
  return { ok: true, message: { type: 'update', withdrawn, attributes, nlri }, ...(problems.length ? { problems } : {}) };
}

/** RFC 4724 §2: an UPDATE with nothing in it (IPv4) or only an empty MP_UNREACH_NLRI (other families). */
export function endOfRibFamily(m: UpdateMessage): { afi: number; safi: number } | undefined {
  if (m.withdrawn.length || m.nlri.length) return undefined;
  const a = m.attributes;
  const keys = Object.keys(a).filter((k) => a[k as keyof PathAttributes] !== undefined);
  if (keys.length === 0) return { afi: 1, safi: 1 };
  if (keys.length === 1 && a.mpUnreach && a.mpUnreach.withdrawn.length === 0) return { afi: a.mpUnreach.afi, safi: a.mpUnreach.safi };
  return undefined;
}

export function endOfRib(afi: number, safi: number): UpdateMessage {
  return afi === 1 && safi === 1
    ? { type: 'update', withdrawn: [], attributes: {}, nlri: [] }
    : { type: 'update', withdrawn: [], attributes: { mpUnreach: { afi, safi, withdrawn: [] } }, nlri: [] };
}

/**
 * Splits a TCP byte stream into whole messages. Pure: feed it chunks, get messages or the NOTIFICATION to send.
 * After a failure the stream cannot be resynchronised and the session must close.
 */
export class MessageFramer {
  private pending = new Uint8Array(0);

  push(chunk: Uint8Array): { frames: Uint8Array[]; error?: DecodeFailure } {
    const data = this.pending.length ? concat(this.pending, chunk) : chunk;
    const frames: Uint8Array[] = [];
    let at = 0;
    while (data.length - at >= HEADER_LENGTH) {
      const h = checkHeader(data.subarray(at, at + HEADER_LENGTH));
      if (!h.ok) {
        this.pending = new Uint8Array(0);
        return { frames, error: h };
      }
      if (data.length - at < h.length) break;
      frames.push(data.slice(at, at + h.length));
      at += h.length;
    }
    this.pending = data.slice(at);
    return { frames };
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
