// BGPPeer objects -> BGPPeer models: ASN, address, timer, password and BFD-reference rules of
// MetalLB's parser. MetalLB's native-mode rejections (DiscardFRROnly) are deliberately not applied:
// ironlb's own speaker grows those features; the ones it lacks today only produce warnings.
import { Buffer } from 'node:buffer';
import { canonicalIp } from '../net/address.js';
import { parseGoDuration } from './goDuration.js';
import type { BGPPeer } from './model.js';
import type { ParsedObject } from './parsedObject.js';
import type { ConfigProblems, ObjectRef } from './problems.js';
import type { SecretInput } from './resources.js';
import { toLabelSelector, type BGPPeerSpec } from './schemas.js';

export const DEFAULT_PEER_PORT = 179;
/** MetalLB's native speaker and the legacy ConfigMap default the hold time to 90 s. */
export const DEFAULT_HOLD_TIME = 90;
export const BASIC_AUTH_SECRET_TYPE = 'kubernetes.io/basic-auth';

export interface TimerProblem {
  readonly field: 'spec.holdTime' | 'spec.keepaliveTime';
  readonly message: string;
}

export interface PeerTimers {
  /** Whole seconds (the BGP OPEN carries seconds; MetalLB rounds down). */
  readonly holdTime: number;
  readonly keepaliveTime: number;
  readonly problems: readonly TimerProblem[];
}

/**
 * Hold/keepalive defaults and rules (MetalLB): only hold => keepalive = hold/3; only keepalive =>
 * hold = 3 x keepalive; neither => 90 s / 30 s. The hold time, rounded down to whole seconds,
 * must be 0 (keepalives off) or at least 3 s, and keepalive must not exceed hold.
 */
export function peerTimers(holdText: string | undefined, keepaliveText: string | undefined): PeerTimers {
  const problems: TimerProblem[] = [];
  const hold = holdText === undefined ? undefined : parseGoDuration(holdText);
  const keepalive = keepaliveText === undefined ? undefined : parseGoDuration(keepaliveText);
  // Syntax errors were reported by the schema; fall back to defaults so checks can continue.
  if (hold !== undefined && hold < 0) problems.push({ field: 'spec.holdTime', message: `holdTime "${holdText}" is negative; use 0 (no keepalives) or a duration of at least 3s` });
  if (keepalive !== undefined && keepalive < 0) problems.push({ field: 'spec.keepaliveTime', message: `keepaliveTime "${keepaliveText}" is negative; use a positive duration no larger than the hold time` });
  if (problems.length > 0) return { holdTime: DEFAULT_HOLD_TIME, keepaliveTime: DEFAULT_HOLD_TIME / 3, problems };

  let holdTime: number;
  let keepaliveTime: number;
  let holdField: TimerProblem['field'] = 'spec.holdTime';
  if (hold === undefined && keepalive === undefined) {
    holdTime = DEFAULT_HOLD_TIME;
    keepaliveTime = DEFAULT_HOLD_TIME / 3;
  } else if (keepalive === undefined) {
    holdTime = Math.floor(hold as number);
    keepaliveTime = holdTime / 3;
  } else if (hold === undefined) {
    holdTime = Math.floor(keepalive * 3);
    keepaliveTime = keepalive;
    holdField = 'spec.keepaliveTime';
  } else {
    holdTime = Math.floor(hold);
    keepaliveTime = keepalive;
  }
  if (holdTime !== 0 && holdTime < 3) {
    const origin = holdField === 'spec.holdTime'
      ? `holdTime "${holdText}" is ${holdTime}s after rounding down to whole seconds`
      : `keepaliveTime "${keepaliveText}" without a holdTime gives a hold time of 3 x keepalive = ${holdTime}s (whole seconds)`;
    problems.push({ field: holdField, message: `${origin}; the hold time must be 0 (no keepalives) or at least 3s` });
  }
  if (hold !== undefined && keepalive !== undefined && keepalive > holdTime) {
    problems.push({ field: 'spec.keepaliveTime', message: `keepaliveTime "${keepaliveText}" is longer than holdTime "${holdText}"; use a keepalive of at most the hold time (usually a third of it)` });
  }
  return { holdTime, keepaliveTime, problems };
}

export interface PeerContext {
  /** Names of every BFDProfile object given, valid or not (so a broken profile is not also "missing"). */
  readonly bfdProfileNames: ReadonlySet<string>;
  /** undefined = the caller has no Secrets to offer; passwordSecret is then left unresolved. */
  readonly secrets: readonly SecretInput[] | undefined;
}

const UNIMPLEMENTED_HINT = "ironlb's BGP speaker does not implement it yet";

function warnUnimplemented(obj: ParsedObject<BGPPeerSpec>, problems: ConfigProblems): void {
  const s = obj.spec;
  const warn = (field: string, message: string) => problems.warn(obj.ref, field, message);
  if (s.dynamicASN !== undefined && s.dynamicASN !== '') {
    warn('spec.dynamicASN', `dynamicASN is accepted for MetalLB compatibility, but ${UNIMPLEMENTED_HINT}: this peer gets no session; set spec.peerASN instead`);
  }
  if (s.interface !== undefined && s.interface !== '') {
    warn('spec.interface', `unnumbered BGP (interface) is accepted for MetalLB compatibility, but ${UNIMPLEMENTED_HINT}: this peer gets no session; set spec.peerAddress instead`);
  }
  if (s.vrf !== undefined && s.vrf !== '') {
    warn('spec.vrf', `vrf is accepted for MetalLB compatibility, but ${UNIMPLEMENTED_HINT}: the session is not bound to VRF "${s.vrf}"; remove the field or expect the default routing table`);
  }
  if (s.localASN !== undefined) {
    warn('spec.localASN', `localASN is accepted for MetalLB compatibility, but ${UNIMPLEMENTED_HINT}: the session uses myASN; remove the field to silence this warning`);
  }
  if (s.connectTime !== undefined) {
    warn('spec.connectTime', `connectTime is accepted for MetalLB compatibility, but ${UNIMPLEMENTED_HINT}: the speaker's own connect timeout is used`);
  }
  if (s.disableMP === true) {
    warn('spec.disableMP', 'disableMP is deprecated and has no effect (MetalLB); remove the field');
  }
}

function resolveSecretPassword(
  obj: ParsedObject<BGPPeerSpec>,
  ref: { name: string; namespace: string | undefined },
  ctx: PeerContext,
  problems: ConfigProblems,
): string | undefined {
  const peer: ObjectRef = obj.ref;
  const field = 'spec.passwordSecret';
  if (ctx.secrets === undefined) {
    problems.warn(peer, field, `Secret "${ref.name}" was not resolved because no Secrets were given to the parser; the session would have no password`);
    return undefined;
  }
  const secret = ctx.secrets.find((s) => s.name === ref.name && (ref.namespace === undefined || s.namespace === ref.namespace));
  const shown = ref.namespace ? `${ref.namespace}/${ref.name}` : ref.name;
  if (!secret) {
    problems.transientError(peer, `${field}.name`, `Secret "${shown}" does not exist (yet); create it with type ${BASIC_AUTH_SECRET_TYPE} and a "password" key, or fix the name`);
    return undefined;
  }
  if (secret.type !== BASIC_AUTH_SECRET_TYPE) {
    problems.error(peer, field, `Secret "${shown}" has type "${secret.type ?? ''}"; recreate it with type ${BASIC_AUTH_SECRET_TYPE}`);
    return undefined;
  }
  const encoded = secret.data?.password;
  if (encoded === undefined) {
    problems.error(peer, field, `Secret "${shown}" has no "password" key; add the BGP password under data.password`);
    return undefined;
  }
  return Buffer.from(encoded, 'base64').toString('utf8');
}

function buildPeer(obj: ParsedObject<BGPPeerSpec>, ctx: PeerContext, problems: ConfigProblems): BGPPeer | undefined {
  const s = obj.spec;
  const before = problems.errors.length;
  const err = (field: string, message: string) => problems.error(obj.ref, field, message);

  const myASN = s.myASN ?? 0;
  if (myASN === 0) err('spec.myASN', 'missing local ASN; set spec.myASN to the AS number this cluster speaks as (1-4294967295)');

  // peerASN 0 is Go's "unset".
  const peerASN = s.peerASN === 0 ? undefined : s.peerASN;
  const dynamicASN = s.dynamicASN === '' ? undefined : s.dynamicASN;
  if (peerASN === undefined && dynamicASN === undefined) {
    err('spec.peerASN', "missing peer ASN; set spec.peerASN to the router's AS number (or spec.dynamicASN to internal/external)");
  } else if (peerASN !== undefined && dynamicASN !== undefined) {
    err('spec.dynamicASN', 'both peerASN and dynamicASN are set; keep only one of them');
  }
  if (dynamicASN !== undefined && dynamicASN !== 'internal' && dynamicASN !== 'external') {
    err('spec.dynamicASN', `invalid dynamicASN "${dynamicASN}"; use "internal" (iBGP) or "external" (eBGP)`);
  }

  const peerAddress = s.peerAddress ? canonicalIp(s.peerAddress) : undefined;
  const iface = s.interface === '' ? undefined : s.interface;
  if (s.peerAddress === undefined || s.peerAddress === '') {
    if (iface === undefined) err('spec.peerAddress', "missing peer address; set spec.peerAddress to the router's IP (or spec.interface for unnumbered BGP)");
  } else if (iface !== undefined) {
    err('spec.interface', 'both peerAddress and interface are set; keep only one of them');
  }

  const iBGP = (peerASN !== undefined && peerASN === myASN) || dynamicASN === 'internal';
  if (s.ebgpMultiHop === true && iBGP) {
    err('spec.ebgpMultiHop', 'ebgpMultiHop is set on an iBGP peer (peerASN equals myASN); remove ebgpMultiHop, it only applies to eBGP');
  }

  const timers = peerTimers(s.holdTime, s.keepaliveTime);
  for (const p of timers.problems) err(p.field, p.message);

  let connectTime: number | undefined;
  if (s.connectTime !== undefined) {
    const seconds = parseGoDuration(s.connectTime);
    if (seconds !== undefined && (!Number.isInteger(seconds) || seconds < 1 || seconds > 65535)) {
      err('spec.connectTime', `connectTime "${s.connectTime}" must be whole seconds between 1s and 65535s; use e.g. "10s"`);
    } else if (seconds !== undefined) {
      connectTime = seconds;
    }
  }

  let password = s.password === '' ? undefined : s.password;
  let passwordSecret: BGPPeer['passwordSecret'];
  const secretRef = s.passwordSecret;
  if (secretRef && (secretRef.name ?? '') !== '') {
    if (password !== undefined) {
      err('spec.passwordSecret', 'both password and passwordSecret are set; keep only one (passwordSecret keeps the password out of the BGPPeer)');
    } else {
      const namespace = secretRef.namespace || obj.namespace || undefined;
      passwordSecret = { name: secretRef.name as string, namespace: namespace ?? '' };
      password = resolveSecretPassword(obj, { name: secretRef.name as string, namespace }, ctx, problems);
    }
  } else if (secretRef && (secretRef.namespace ?? '') !== '') {
    err('spec.passwordSecret.name', 'passwordSecret has a namespace but no name; set the name of the Secret');
  }

  const bfdProfile = s.bfdProfile === '' ? undefined : s.bfdProfile;
  if (bfdProfile !== undefined && !ctx.bfdProfileNames.has(bfdProfile)) {
    problems.transientError(obj.ref, 'spec.bfdProfile', `BFDProfile "${bfdProfile}" does not exist (yet); create it or fix the name`);
  }

  warnUnimplemented(obj, problems);
  if (problems.errors.length !== before) return undefined;

  // v1beta1 allowed peerPort 0, which means the default port.
  const peerPort = s.peerPort === undefined || s.peerPort === 0 ? DEFAULT_PEER_PORT : s.peerPort;
  const optional = <K extends string, V>(key: K, value: V | undefined) => (value === undefined ? {} : ({ [key]: value } as Record<K, V>));
  return {
    name: obj.ref.name,
    myASN,
    ...optional('peerASN', peerASN),
    ...optional('dynamicASN', dynamicASN as BGPPeer['dynamicASN']),
    ...optional('localASN', s.localASN),
    ...optional('peerAddress', peerAddress),
    ...optional('interface', iface),
    ...optional('sourceAddress', s.sourceAddress ? canonicalIp(s.sourceAddress) : undefined),
    peerPort,
    holdTime: timers.holdTime,
    keepaliveTime: timers.keepaliveTime,
    ...optional('connectTime', connectTime),
    ...optional('routerID', s.routerID ? canonicalIp(s.routerID) : undefined),
    nodeSelectors: (s.nodeSelectors ?? []).map(toLabelSelector),
    ...optional('password', password),
    ...optional('passwordSecret', passwordSecret),
    ...optional('bfdProfile', bfdProfile),
    enableGracefulRestart: s.enableGracefulRestart ?? false,
    ebgpMultiHop: s.ebgpMultiHop ?? false,
    ...optional('vrf', s.vrf === '' ? undefined : s.vrf),
    dualStackAddressFamily: s.dualStackAddressFamily ?? false,
  };
}

export function buildPeers(objects: readonly ParsedObject<BGPPeerSpec>[], ctx: PeerContext, problems: ConfigProblems): BGPPeer[] {
  const peers: BGPPeer[] = [];
  for (const obj of objects) {
    const peer = buildPeer(obj, ctx, problems);
    if (peer) peers.push(peer);
  }
  return peers;
}
