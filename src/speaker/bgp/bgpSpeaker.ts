// The BGP speaker's session manager: one PeerSession per configured peer, desired RIBs per peer,
// BFD sessions for peers with a BFDProfile (BFD Down => the BGP session goes down), metrics.
// Announce-only: routes the peers send are ignored.
import type { Logger } from 'pino';
import { canonicalIp, ipFamily } from '../../net/address.js';
import type { BfdSessionSpec, BfdStateEvent } from '../bfd/bfdManager.js';
import { BfdManager } from '../bfd/bfdManager.js';
import type { SessionState } from './fsm.js';
import { BgpMetrics, peerLabel } from './metrics.js';
import { PeerSession, type Dialer, type PeerSessionSpec, type PeerStatus } from './peerSession.js';
import type { DesiredRib } from './ribOut.js';
import { connectBgp } from './transport.js';

export type { PeerSessionSpec, PeerStatus, BgpFamily } from './peerSession.js';
export { BgpMetrics } from './metrics.js';

/** What the speaker needs of a BFD implementation (BfdManager; a test may run it elsewhere). */
export interface BfdPort {
  addSession(spec: BfdSessionSpec): Promise<void>;
  removeSession(peer: string, multihop?: boolean): void;
  onStateChange(cb: (e: BfdStateEvent) => void): void;
  close(): Promise<void>;
}

export interface BgpSpeakerOptions {
  /** Kubernetes node name: the BGP identifier of IPv6-only sessions is derived from it. */
  readonly nodeName: string;
  readonly log: Logger;
  readonly metrics?: BgpMetrics;
  readonly onStateChange?: (peer: string, state: SessionState, reason: string) => void;
  /** BFD sessions; default: a BfdManager created on first need and closed by stop(). */
  readonly bfd?: BfdPort;
  /** Seconds between dial attempts to a peer that does not answer (also the dial timeout, at most 10 s). Default 10. */
  readonly connectRetrySeconds?: number;
  /** For tests: how TCP connections are opened (default connectBgp). */
  readonly dial?: Dialer;
}

export interface PeerChangePlan {
  readonly add: readonly PeerSessionSpec[];
  /** Names whose spec changed: stop the old session, start the new spec. */
  readonly replace: readonly PeerSessionSpec[];
  readonly remove: readonly string[];
  readonly keep: readonly string[];
}

/** A canonical text of everything that shapes the session; equal keys => nothing to restart. */
export function peerSpecKey(s: PeerSessionSpec): string {
  return JSON.stringify({
    peerAddress: canonicalIp(s.peerAddress) ?? s.peerAddress,
    peerPort: s.peerPort,
    peerAsn: s.peerAsn,
    localAsn: s.localAsn,
    routerId: s.routerId ?? null,
    sourceAddress: s.sourceAddress === undefined ? null : (canonicalIp(s.sourceAddress) ?? s.sourceAddress),
    holdTime: s.holdTime,
    password: s.password ?? '',
    ebgpMultiHop: s.ebgpMultiHop,
    gracefulRestart: s.gracefulRestart,
    bfd: s.bfd ? Object.fromEntries(Object.entries(s.bfd).sort(([a], [b]) => a.localeCompare(b))) : null,
    families: s.families && s.families.length ? [...new Set(s.families)].sort() : ['ipv4', 'ipv6'],
    netns: s.netns ?? null,
  });
}

/** What setPeers must do to go from the running sessions to `next`. */
export function planPeerChanges(current: ReadonlyMap<string, PeerSessionSpec>, next: readonly PeerSessionSpec[]): PeerChangePlan {
  const add: PeerSessionSpec[] = [];
  const replace: PeerSessionSpec[] = [];
  const keep: string[] = [];
  const names = new Set<string>();
  for (const s of next) {
    names.add(s.name);
    const old = current.get(s.name);
    if (!old) add.push(s);
    else if (peerSpecKey(old) !== peerSpecKey(s)) replace.push(s);
    else keep.push(s.name);
  }
  const remove = [...current.keys()].filter((n) => !names.has(n));
  return { add, replace, remove, keep };
}

/** Problems that make a spec unusable, each naming the session and field. */
export function validatePeerSpecs(specs: readonly PeerSessionSpec[]): string[] {
  const errors: string[] = [];
  const seen = new Set<string>();
  for (const s of specs) {
    const where = `BGP session "${s.name}"`;
    if (!s.name) errors.push('BGP session with an empty name: give every session a unique name');
    if (seen.has(s.name)) errors.push(`${where}: name used twice; session names must be unique`);
    seen.add(s.name);
    const fam = ipFamily(s.peerAddress);
    if (fam === undefined) errors.push(`${where}: peerAddress "${s.peerAddress}" is not an IP address`);
    if (s.sourceAddress !== undefined && ipFamily(s.sourceAddress) !== fam) {
      errors.push(`${where}: sourceAddress "${s.sourceAddress}" is not of the peer address's family; use an IPv${fam ?? '?'} source address`);
    }
    if (s.routerId !== undefined && ipFamily(s.routerId) !== 4) errors.push(`${where}: routerId "${s.routerId}" must be a dotted IPv4 address`);
    if (!Number.isInteger(s.peerPort) || s.peerPort < 1 || s.peerPort > 65535) errors.push(`${where}: peerPort ${s.peerPort} must be 1..65535`);
    for (const [field, asn] of [['peerAsn', s.peerAsn], ['localAsn', s.localAsn]] as const) {
      if (!Number.isInteger(asn) || asn < 1 || asn > 0xffff_ffff) errors.push(`${where}: ${field} ${asn} must be 1..4294967295`);
    }
    if (!Number.isInteger(s.holdTime) || s.holdTime === 1 || s.holdTime === 2 || s.holdTime < 0 || s.holdTime > 65535) {
      errors.push(`${where}: holdTime ${s.holdTime} must be 0 or 3..65535 seconds`);
    }
    if (s.ebgpMultiHop && s.peerAsn === s.localAsn) errors.push(`${where}: ebgpMultiHop is set on an iBGP session (peerAsn = localAsn); remove it`);
  }
  return errors;
}

interface Running {
  readonly spec: PeerSessionSpec;
  readonly session: PeerSession;
}

export class BgpSpeaker {
  private readonly sessions = new Map<string, Running>();
  private readonly desired = new Map<string, DesiredRib>();
  private readonly stopping = new Set<Promise<void>>();
  private bfd: BfdPort | undefined;
  private readonly ownsBfd: boolean;
  /** BFD sessions in use, by "multihop|peer": sessions sharing a peer share its BFD session. */
  private readonly bfdUsers = new Map<string, number>();
  private stopped = false;

  constructor(private readonly opts: BgpSpeakerOptions) {
    this.ownsBfd = opts.bfd === undefined;
    if (opts.bfd) this.attachBfd(opts.bfd);
  }

  /** Adds, removes and restarts (changed spec) sessions. Throws, changing nothing, when a spec is invalid. */
  setPeers(specs: readonly PeerSessionSpec[]): void {
    if (this.stopped) throw new Error('BgpSpeaker.setPeers after stop()');
    const errors = validatePeerSpecs(specs);
    if (errors.length) throw new Error(errors.join('; '));
    const plan = planPeerChanges(new Map([...this.sessions].map(([n, r]) => [n, r.spec])), specs);
    for (const name of [...plan.remove, ...plan.replace.map((s) => s.name)]) this.drop(name);
    for (const spec of [...plan.add, ...plan.replace]) this.launch(spec);
  }

  /** The routes to announce to one session; diffed against what it last sent, sent at once when Established. */
  setDesired(peerName: string, rib: DesiredRib): void {
    this.desired.set(peerName, rib);
    this.sessions.get(peerName)?.session.setDesired(rib);
  }

  status(): PeerStatus[] {
    return [...this.sessions.values()].map((r) => r.session.status());
  }

  /** Ends every session. graceful: no NOTIFICATION, so graceful-restart peers keep our routes while we come back. */
  stop(opts: { graceful?: boolean } = {}): Promise<void> {
    // The first stop decides graceful or not; later calls wait for it.
    this.stopDone ??= this.stopOnce(opts);
    return this.stopDone;
  }

  private stopDone: Promise<void> | undefined;

  private async stopOnce(opts: { graceful?: boolean }): Promise<void> {
    this.stopped = true;
    const graceful = opts.graceful ?? false;
    const all = [...this.sessions.values()].map((r) => r.session.stop(graceful));
    this.sessions.clear();
    await Promise.all([...all, ...this.stopping]);
    if (this.bfd && this.ownsBfd) await this.bfd.close();
    else if (this.bfd) for (const key of this.bfdUsers.keys()) this.bfd.removeSession(key.slice(key.indexOf('|') + 1), key.startsWith('mh|'));
    this.bfdUsers.clear();
  }

  private launch(spec: PeerSessionSpec): void {
    const label = peerLabel(canonicalIp(spec.peerAddress) ?? spec.peerAddress, spec.peerPort);
    const session = new PeerSession(spec, {
      nodeName: this.opts.nodeName,
      log: this.opts.log,
      metricsLabel: label,
      dial: this.opts.dial ?? connectBgp,
      connectRetrySeconds: this.opts.connectRetrySeconds ?? 10,
      ...(this.opts.metrics ? { metrics: this.opts.metrics } : {}),
      ...(this.opts.onStateChange ? { onStateChange: this.opts.onStateChange } : {}),
    });
    this.sessions.set(spec.name, { spec, session });
    const rib = this.desired.get(spec.name);
    if (rib) session.setDesired(rib);
    session.start();
    if (spec.bfd) this.addBfd(spec);
  }

  private drop(name: string): void {
    const r = this.sessions.get(name);
    if (!r) return;
    this.sessions.delete(name);
    const done = r.session.stop(false).finally(() => this.stopping.delete(done));
    this.stopping.add(done);
    if (r.spec.bfd) this.releaseBfd(r.spec);
    // Another session may still use the label (same peer:port from another name): it re-sets its gauges.
    if (![...this.sessions.values()].some((o) => o.session.status().peer === r.session.status().peer)) {
      this.opts.metrics?.forget(r.session.status().peer);
    }
  }

  private attachBfd(bfd: BfdPort): void {
    this.bfd = bfd;
    bfd.onStateChange((e) => {
      for (const r of this.sessions.values()) {
        if (r.spec.bfd && (canonicalIp(r.spec.peerAddress) ?? r.spec.peerAddress) === e.peer && r.spec.ebgpMultiHop === e.multihop) {
          r.session.bfdChanged(e.from, e.to, e.diagnosticText);
        }
      }
    });
  }

  private bfdKey(spec: PeerSessionSpec): string {
    return `${spec.ebgpMultiHop ? 'mh' : 'sh'}|${canonicalIp(spec.peerAddress) ?? spec.peerAddress}`;
  }

  private addBfd(spec: PeerSessionSpec): void {
    if (!this.bfd) {
      this.attachBfd(new BfdManager({ onError: (err) => this.opts.log.warn({ err: err.message }, 'BFD') }));
    }
    const key = this.bfdKey(spec);
    this.bfdUsers.set(key, (this.bfdUsers.get(key) ?? 0) + 1);
    const bfdSpec: BfdSessionSpec = {
      peer: spec.peerAddress,
      multihop: spec.ebgpMultiHop,
      profile: spec.bfd!,
      ...(spec.sourceAddress !== undefined ? { local: spec.sourceAddress } : {}),
    };
    this.bfd!.addSession(bfdSpec).catch((err: Error) =>
      this.opts.log.error({ err: err.message, bgpPeer: spec.name }, `BFD session to ${spec.peerAddress} not started; the BGP session runs without BFD`),
    );
  }

  private releaseBfd(spec: PeerSessionSpec): void {
    const key = this.bfdKey(spec);
    const n = (this.bfdUsers.get(key) ?? 1) - 1;
    if (n > 0) {
      this.bfdUsers.set(key, n);
      return;
    }
    this.bfdUsers.delete(key);
    this.bfd?.removeSession(spec.peerAddress, spec.ebgpMultiHop);
  }
}
