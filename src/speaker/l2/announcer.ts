// The layer-2 announcer: makes this node answer ARP (IPv4) and NDP (IPv6) for the IPs it is
// told to announce, on the interfaces it may use, and shouts gratuitous ARP / unsolicited NA
// whenever an IP is (re)announced so neighbours move to us at once (MetalLB spec 4.4-4.7).
//
// Desired state in, frames out: setAnnouncements() replaces the whole set; the announcer owns
// one AF_PACKET socket per interface and protocol, rescans interfaces every 10 s, and never
// lets a frame (however malformed) or a failing send escape as an exception.
import { canonicalIp, ipFamily } from '../../net/address.js';
import { Ipv6GroupMembership } from '../../net/ipv6GroupMembership.js';
import { ETHERTYPE_ARP, ETHERTYPE_IPV6, type FrameSocket, PacketSocket, type PacketSocketOptions, PacketType } from '../../net/packetSocket.js';
import { buildArpReply, buildGratuitousArp, parseArpRequest } from './arp.js';
import { formatMac, isBroadcastMac, macEquals, parseMac } from './ethernet.js';
import { compileExclusions, DEFAULT_EXCLUDED_INTERFACE_PATTERNS, interfaceEligibility, type NetInterface, readInterfaces } from './interfaces.js';
import { buildNeighborSolicitation, buildSolicitedNeighborAdvertisement, buildUnsolicitedNeighborAdvertisement, parseNeighborSolicitation, solicitedNodeMulticastIp, solicitedNodeMulticastMac } from './ndp.js';

/** Interfaces an IP may be answered on: the union of the L2Advertisements' `interfaces`, or all. */
export type AnnouncedInterfaces = readonly string[] | 'all';

export interface L2Announcement {
  readonly interfaces: AnnouncedInterfaces;
}

/** Per-IP counters behind metallb_layer2_{requests_received,responses_sent,gratuitous_sent}. */
export interface L2IpCounters {
  readonly requestsReceived: number;
  readonly responsesSent: number;
  readonly gratuitousSent: number;
}

/** Frames seen by the responders and why the unanswered ones were not answered. */
export interface L2FrameStats {
  readonly framesReceived: number;
  readonly ignored: Readonly<Record<string, number>>;
  readonly sendFailures: number;
}

export interface L2ResponderInfo {
  readonly name: string;
  readonly mac: string;
  readonly arp: boolean;
  readonly ndp: boolean;
}

/** The subset of pino's Logger the announcer uses. */
export interface L2Logger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface L2AnnouncerOptions {
  /** Interface name patterns never used (announcedInterfacesToExclude); default MetalLB's list. */
  readonly excludeInterfaces?: readonly string[];
  /** Interface rescan period (MetalLB: 10 s). 0 = only on rescan(). */
  readonly rescanIntervalMs?: number;
  /** Gratuitous window after each (re)announcement (MetalLB: 5 s) and burst period (1.1 s). */
  readonly gratuitousWindowMs?: number;
  readonly gratuitousIntervalMs?: number;
  readonly logger?: L2Logger;
  /** Seams for tests: interface listing, socket factory and monotonic clock (ms). */
  readonly listInterfaces?: () => readonly NetInterface[];
  readonly openSocket?: (ifname: string, options: PacketSocketOptions) => FrameSocket;
  /** IP-layer group joins (MLD reports); default real sockets, none when openSocket is a test fake. */
  readonly ipv6Groups?: ((ifname: string) => IpGroupJoiner) | null;
  readonly now?: () => number;
  /** Called after a burst handed at least one gratuitous ARP/NA for `ip` to a socket (announce latency metric). */
  readonly onGratuitous?: (ip: string) => void;
}

/** What #syncMulticast needs of an IP-layer membership (Ipv6GroupMembership). */
export interface IpGroupJoiner {
  join(group: string): void;
  leave(group: string): void;
  close(): void;
}

interface IpState {
  readonly ip: string;
  readonly family: 4 | 6;
  interfaces: 'all' | ReadonlySet<string>;
  /** Canonical form of `interfaces`, to tell a changed announcement from a repeated one. */
  interfacesKey: string;
  /** ms (options.now clock) until which bursts continue; 0 = no window. */
  windowEndsAt: number;
  timer: ReturnType<typeof setTimeout> | undefined;
  /** 33:33:ff:xx:xx:xx for IPv6, undefined for IPv4. */
  readonly groupMac: string | undefined;
  /** ff02::1:ffxx:xxxx for IPv6 (one-to-one with groupMac). */
  readonly groupIp: string | undefined;
}

interface Responder {
  iface: NetInterface;
  readonly mac: Uint8Array;
  arp: FrameSocket | undefined;
  ndp: FrameSocket | undefined;
  /** Solicited-node groups (by MAC) joined on `ndp`, with how many announced IPs need each. */
  groups: Map<string, number>;
  /** The same groups joined at the IP layer, so the kernel sends MLD reports. */
  ipGroups: IpGroupJoiner | undefined;
}

interface MutableCounters {
  requestsReceived: number;
  responsesSent: number;
  gratuitousSent: number;
}

const NO_LOG: L2Logger = { debug() {}, info() {}, warn() {} };

/**
 * Runs every codec once (nothing is sent) so that V8 has compiled them before the first
 * takeover: in a fresh process the first setAnnouncements() took 4-22 ms cold and 2-5 ms after
 * this, on a busy 2-core machine.
 */
function warmUpCodecs(): void {
  const mac = Uint8Array.of(2, 0, 0, 0, 0, 1);
  for (const ip of ['192.0.2.1', '2001:db8::1']) ipFamily(canonicalIp(ip) ?? ip);
  formatMac(solicitedNodeMulticastMac('2001:db8::1'));
  buildGratuitousArp(mac, '192.0.2.1', 'request');
  const request = parseArpRequest(buildGratuitousArp(mac, '192.0.2.1', 'request'));
  if (request.ok) buildArpReply(request.value, mac, '192.0.2.1');
  buildUnsolicitedNeighborAdvertisement(mac, 'fe80::1', '2001:db8::1');
  const ns = parseNeighborSolicitation(buildNeighborSolicitation(mac, 'fe80::2', '2001:db8::1'));
  if (ns.ok) buildSolicitedNeighborAdvertisement(ns.value, mac, 'fe80::1', '2001:db8::1');
}

export class L2Announcer {
  readonly #exclude: RegExp | undefined;
  readonly #windowMs: number;
  readonly #intervalMs: number;
  readonly #log: L2Logger;
  readonly #listInterfaces: () => readonly NetInterface[];
  readonly #openSocket: (ifname: string, options: PacketSocketOptions) => FrameSocket;
  readonly #ipv6Groups: ((ifname: string) => IpGroupJoiner) | null;
  readonly #now: () => number;
  readonly #onGratuitous: ((ip: string) => void) | undefined;
  readonly #ips = new Map<string, IpState>();
  readonly #responders = new Map<string, Responder>();
  readonly #counters = new Map<string, MutableCounters>();
  readonly #ignored = new Map<string, number>();
  readonly #openErrors = new Map<string, string>();
  #framesReceived = 0;
  #sendFailures = 0;
  #rescanTimer: ReturnType<typeof setInterval> | undefined;
  #closed = false;

  constructor(options: L2AnnouncerOptions = {}) {
    this.#exclude = compileExclusions(options.excludeInterfaces ?? DEFAULT_EXCLUDED_INTERFACE_PATTERNS);
    this.#windowMs = options.gratuitousWindowMs ?? 5000;
    this.#intervalMs = options.gratuitousIntervalMs ?? 1100;
    this.#log = options.logger ?? NO_LOG;
    this.#listInterfaces = options.listInterfaces ?? (() => readInterfaces());
    this.#openSocket = options.openSocket ?? ((ifname, o) => PacketSocket.open(ifname, o));
    this.#ipv6Groups = options.ipv6Groups !== undefined ? options.ipv6Groups : options.openSocket ? null : (ifname) => new Ipv6GroupMembership(ifname);
    this.#now = options.now ?? (() => performance.now());
    this.#onGratuitous = options.onGratuitous;
    warmUpCodecs();
    this.rescan();
    // MetalLB rescans every 10 s; a link that comes back (or an IPv6 link-local leaving DAD) must
    // not leave the node silent that long. Reading /sys for a few interfaces each second is cheap.
    const every = options.rescanIntervalMs ?? 1_000;
    if (every > 0) {
      this.#rescanTimer = setInterval(() => this.rescan(), every);
      this.#rescanTimer.unref();
    }
  }

  /**
   * Replaces the set of announced IPs. IPs that are new, or whose interface list changed, are
   * (re)announced: the first gratuitous burst goes out before this returns, then one every
   * 1.1 s for 5 s (spec 4.7). IPs left out stop being answered at once. Repeating the same
   * map changes nothing; use reannounce() to open a new window for an unchanged IP.
   * Throws (changing nothing) if a key is not an IP or an interface list is malformed.
   */
  setAnnouncements(announcements: ReadonlyMap<string, L2Announcement>): void {
    this.#assertOpen('setAnnouncements');
    const desired = new Map<string, { family: 4 | 6; interfaces: 'all' | ReadonlySet<string> }>();
    for (const [text, announcement] of announcements) {
      // Keys we already hold are canonical: skip re-parsing them (the speaker resends the full set).
      const known = this.#ips.get(text);
      const ip = known ? text : canonicalIp(text);
      const family = known ? known.family : ip === undefined ? undefined : ipFamily(ip);
      if (ip === undefined || family === undefined) throw new TypeError(`L2 announcement "${text}": not an IP address`);
      const interfaces = announcement?.interfaces;
      let wanted: 'all' | ReadonlySet<string>;
      if (interfaces === 'all') wanted = 'all';
      else if (Array.isArray(interfaces) && interfaces.every((n) => typeof n === 'string' && n !== '')) wanted = new Set(interfaces);
      else throw new TypeError(`L2 announcement "${text}": interfaces must be 'all' or a list of interface names`);
      const prev = desired.get(ip); // "2001:DB8::1" and "2001:db8::1" are the same IP: union
      if (prev) wanted = prev.interfaces === 'all' || wanted === 'all' ? 'all' : new Set([...prev.interfaces, ...wanted]);
      desired.set(ip, { family, interfaces: wanted });
    }

    for (const [ip, state] of this.#ips) {
      if (!desired.has(ip)) {
        this.#stopWindow(state);
        this.#ips.delete(ip);
      }
    }
    const toAnnounce: IpState[] = [];
    for (const [ip, d] of desired) {
      const key = d.interfaces === 'all' ? '*' : [...d.interfaces].sort().join(',');
      const existing = this.#ips.get(ip);
      if (existing && existing.interfacesKey === key) continue;
      if (existing) {
        existing.interfaces = d.interfaces;
        existing.interfacesKey = key;
        toAnnounce.push(existing);
      } else {
        const state: IpState = {
          ip, family: d.family, interfaces: d.interfaces, interfacesKey: key, windowEndsAt: 0, timer: undefined,
          groupMac: d.family === 6 ? formatMac(solicitedNodeMulticastMac(ip)) : undefined,
          groupIp: d.family === 6 ? solicitedNodeMulticastIp(ip) : undefined,
        };
        this.#ips.set(ip, state);
        toAnnounce.push(state);
      }
    }
    this.#syncMulticast();
    for (const state of toAnnounce) this.#openWindow(state);
  }

  /** Opens a new gratuitous window for an announced IP (MetalLB does this on every pass). */
  reannounce(ip: string): void {
    this.#assertOpen('reannounce');
    const state = this.#ips.get(canonicalIp(ip) ?? ip);
    if (state) this.#openWindow(state);
  }

  /** Re-reads the interfaces and opens/closes responders to match (also runs every second). */
  rescan(): void {
    if (this.#closed) return;
    let list: readonly NetInterface[];
    try {
      list = this.#listInterfaces();
    } catch (e) {
      this.#log.warn({ err: (e as Error).message }, 'layer2: cannot list interfaces; keeping the current responders');
      return;
    }
    const eligibleNames = new Set<string>();
    const reopened: { r: Responder; family: 4 | 6 }[] = [];
    for (const iface of list) {
      const eligible = interfaceEligibility(iface, this.#exclude);
      if (!eligible.arp && !eligible.ndp) continue;
      const mac = parseMac(iface.mac);
      if (!mac) continue;
      eligibleNames.add(iface.name);
      let r = this.#responders.get(iface.name);
      if (r && (r.iface.ifindex !== iface.ifindex || r.iface.mac !== iface.mac)) {
        // Same name, different device (recreated) or new MAC: start over with fresh sockets.
        this.#closeResponder(r);
        r = undefined;
      }
      if (!r) {
        r = { iface, mac, arp: undefined, ndp: undefined, groups: new Map(), ipGroups: undefined };
        this.#responders.set(iface.name, r);
      }
      r.iface = iface;
      if (eligible.arp && !r.arp) {
        r.arp = this.#open(r, 'arp');
        if (r.arp) reopened.push({ r, family: 4 });
      }
      if (!eligible.arp && r.arp) this.#closeSocket(r, 'arp');
      if (eligible.ndp && !r.ndp) {
        r.ndp = this.#open(r, 'ndp');
        if (r.ndp) reopened.push({ r, family: 6 });
      }
      if (!eligible.ndp && r.ndp) this.#closeSocket(r, 'ndp');
      if (!r.arp && !r.ndp) this.#responders.delete(iface.name);
    }
    for (const r of [...this.#responders.values()]) {
      if (!eligibleNames.has(r.iface.name)) {
        this.#log.info({ interface: r.iface.name }, 'layer2: interface no longer eligible; stopped answering on it');
        this.#closeResponder(r);
      }
    }
    this.#syncMulticast();
    // An interface that came (back) up: neighbours may still hold another node's MAC (we were
    // unreachable meanwhile), so announce again on it at once instead of waiting for requests.
    for (const { r, family } of reopened) {
      for (const state of this.#ips.values()) if (state.family === family && this.#allowed(state, r)) this.#openWindow(state);
    }
  }

  /** Snapshot of the per-IP counters (kept after withdrawal, so they stay monotonic). */
  counters(): ReadonlyMap<string, L2IpCounters> {
    const out = new Map<string, L2IpCounters>();
    for (const [ip, c] of this.#counters) out.set(ip, { ...c });
    return out;
  }

  frameStats(): L2FrameStats {
    return { framesReceived: this.#framesReceived, ignored: Object.fromEntries(this.#ignored), sendFailures: this.#sendFailures };
  }

  /** Interfaces on which `ip` is currently answered (empty: announceFailed in MetalLB terms). */
  interfacesFor(ip: string): string[] {
    const state = this.#ips.get(canonicalIp(ip) ?? ip);
    if (!state) return [];
    return [...this.#responders.values()]
      .filter((r) => this.#allowed(state, r) && (state.family === 4 ? r.arp : r.ndp))
      .map((r) => r.iface.name);
  }

  responders(): L2ResponderInfo[] {
    return [...this.#responders.values()].map((r) => ({ name: r.iface.name, mac: r.iface.mac, arp: r.arp !== undefined, ndp: r.ndp !== undefined }));
  }

  /** Stops answering, cancels every timer and closes every socket. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#rescanTimer) clearInterval(this.#rescanTimer);
    for (const state of this.#ips.values()) this.#stopWindow(state);
    this.#ips.clear();
    for (const r of [...this.#responders.values()]) this.#closeResponder(r);
  }

  // ------------------------------------------------------------------ gratuitous windows

  #openWindow(state: IpState): void {
    const inWindow = state.timer !== undefined;
    state.windowEndsAt = this.#now() + this.#windowMs;
    if (inWindow) return; // the running window just got longer (spec 4.7)
    this.#burst(state);
    this.#scheduleBurst(state);
  }

  #scheduleBurst(state: IpState): void {
    state.timer = setTimeout(() => {
      state.timer = undefined;
      if (this.#closed || this.#ips.get(state.ip) !== state) return;
      if (this.#now() >= state.windowEndsAt) return;
      this.#burst(state);
      this.#scheduleBurst(state);
    }, this.#intervalMs);
    state.timer.unref();
  }

  #stopWindow(state: IpState): void {
    if (state.timer) clearTimeout(state.timer);
    state.timer = undefined;
    state.windowEndsAt = 0;
  }

  /** One burst: ARP request + reply (IPv4) or an unsolicited NA (IPv6) on every allowed interface. */
  #burst(state: IpState): void {
    const before = this.#counters.get(state.ip)?.gratuitousSent ?? 0;
    for (const r of this.#responders.values()) {
      if (!this.#allowed(state, r)) continue;
      if (state.family === 4 && r.arp) {
        if (this.#send(r.arp, () => buildGratuitousArp(r.mac, state.ip, 'request'))) this.#count(state.ip).gratuitousSent++;
        if (this.#send(r.arp, () => buildGratuitousArp(r.mac, state.ip, 'reply'))) this.#count(state.ip).gratuitousSent++;
      } else if (state.family === 6 && r.ndp && r.iface.linkLocal) {
        const linkLocal = r.iface.linkLocal;
        if (this.#send(r.ndp, () => buildUnsolicitedNeighborAdvertisement(r.mac, linkLocal, state.ip))) this.#count(state.ip).gratuitousSent++;
      }
    }
    if (this.#onGratuitous && (this.#counters.get(state.ip)?.gratuitousSent ?? 0) > before) {
      try {
        this.#onGratuitous(state.ip);
      } catch (e) {
        this.#log.debug({ err: (e as Error).message }, 'layer2: onGratuitous callback failed');
      }
    }
  }

  // ------------------------------------------------------------------ responders

  #onArpFrame(r: Responder, frame: Buffer, pkttype: number): void {
    this.#framesReceived++;
    if (pkttype === PacketType.otherHost) return this.#ignore('not-for-this-host');
    const parsed = parseArpRequest(frame);
    if (!parsed.ok) return this.#ignore(parsed.reason);
    const request = parsed.value;
    // spec 4.5: only requests sent to broadcast or to us.
    if (!isBroadcastMac(request.ethernetDestination) && !macEquals(request.ethernetDestination, r.mac)) return this.#ignore('not-for-this-host');
    // Someone's own announcement (sender IP = target IP) is not a question.
    if (request.senderIp === request.targetIp) return this.#ignore('gratuitous');
    const state = this.#ips.get(request.targetIp);
    if (!state || state.family !== 4) return this.#ignore('not-announced');
    if (!this.#allowed(state, r)) return this.#ignore('interface-not-allowed');
    const c = this.#count(state.ip);
    c.requestsReceived++;
    if (r.arp && this.#send(r.arp, () => buildArpReply(request, r.mac, state.ip))) c.responsesSent++;
  }

  #onNdpFrame(r: Responder, frame: Buffer, pkttype: number): void {
    this.#framesReceived++;
    if (pkttype === PacketType.otherHost) return this.#ignore('not-for-this-host');
    const parsed = parseNeighborSolicitation(frame);
    if (!parsed.ok) return this.#ignore(parsed.reason);
    const ns = parsed.value;
    // spec 4.6: only solicitations with a source link-layer option (DAD probes are ignored).
    if (!ns.sourceLinkLayer) return this.#ignore('no-source-link-layer-option');
    const state = this.#ips.get(ns.targetIp);
    if (!state || state.family !== 6) return this.#ignore('not-announced');
    if (!this.#allowed(state, r)) return this.#ignore('interface-not-allowed');
    const linkLocal = r.iface.linkLocal;
    if (!linkLocal) return this.#ignore('no-link-local-address');
    const c = this.#count(state.ip);
    c.requestsReceived++;
    if (r.ndp && this.#send(r.ndp, () => buildSolicitedNeighborAdvertisement(ns, r.mac, linkLocal, state.ip))) c.responsesSent++;
  }

  #open(r: Responder, kind: 'arp' | 'ndp'): FrameSocket | undefined {
    const name = r.iface.name;
    const opts: PacketSocketOptions = kind === 'arp' ? { ethertype: ETHERTYPE_ARP, filter: 'arp-request' } : { ethertype: ETHERTYPE_IPV6, filter: 'neighbor-solicitation' };
    let socket: FrameSocket;
    try {
      socket = this.#openSocket(name, opts);
    } catch (e) {
      const message = (e as Error).message;
      if (this.#openErrors.get(`${name}/${kind}`) !== message) this.#log.warn({ interface: name, protocol: kind, err: message }, 'layer2: cannot open responder socket; retrying at the next interface scan');
      this.#openErrors.set(`${name}/${kind}`, message);
      return undefined;
    }
    this.#openErrors.delete(`${name}/${kind}`);
    socket.onFrame((frame, pkttype) => {
      try {
        if (kind === 'arp') this.#onArpFrame(r, frame, pkttype);
        else this.#onNdpFrame(r, frame, pkttype);
      } catch (e) {
        // Defence in depth: the codecs do not throw, but no frame may ever crash the speaker.
        this.#ignore('handler-error');
        this.#log.warn({ interface: name, protocol: kind, err: (e as Error).message }, 'layer2: error while handling a frame');
      }
    });
    socket.onError((err) => this.#log.debug({ interface: name, protocol: kind, err: err.message }, 'layer2: socket error'));
    if (kind === 'ndp') r.groups = new Map(); // a fresh socket has no memberships yet
    this.#log.info({ interface: name, protocol: kind, mac: r.iface.mac }, 'layer2: answering on interface');
    return socket;
  }

  #closeSocket(r: Responder, kind: 'arp' | 'ndp'): void {
    const socket = r[kind];
    r[kind] = undefined;
    if (kind === 'ndp') {
      r.groups = new Map();
      r.ipGroups?.close();
      r.ipGroups = undefined;
    }
    try {
      socket?.close();
    } catch (e) {
      this.#log.debug({ interface: r.iface.name, err: (e as Error).message }, 'layer2: close failed');
    }
  }

  #closeResponder(r: Responder): void {
    this.#closeSocket(r, 'arp');
    this.#closeSocket(r, 'ndp');
    if (this.#responders.get(r.iface.name) === r) this.#responders.delete(r.iface.name);
  }

  /** Joins/leaves solicited-node groups so each NDP socket is in exactly the groups it needs. */
  #syncMulticast(): void {
    for (const r of this.#responders.values()) {
      if (!r.ndp) continue;
      const want = new Map<string, number>();
      const ipOfGroup = new Map<string, string>();
      for (const state of this.#ips.values()) {
        if (!state.groupMac || !this.#allowed(state, r)) continue;
        want.set(state.groupMac, (want.get(state.groupMac) ?? 0) + 1);
        if (state.groupIp) ipOfGroup.set(state.groupMac, state.groupIp);
      }
      if (want.size > 0 && !r.ipGroups && this.#ipv6Groups) {
        try {
          r.ipGroups = this.#ipv6Groups(r.iface.name);
        } catch (e) {
          this.#log.warn({ interface: r.iface.name, err: (e as Error).message }, 'layer2: cannot open the socket for MLD group joins; NS may not reach us through MLD-snooping switches');
        }
      }
      for (const group of r.groups.keys()) {
        if (want.has(group)) continue;
        this.#ipGroupChange(r, 'leave', solicitedIpOfMac(group));
        try {
          r.ndp.dropMulticast(group);
        } catch (e) {
          this.#log.debug({ interface: r.iface.name, group, err: (e as Error).message }, 'layer2: leaving multicast group failed');
        }
        r.groups.delete(group);
      }
      for (const [group, users] of want) {
        if (!r.groups.has(group)) {
          try {
            r.ndp.addMulticast(group);
          } catch (e) {
            this.#log.warn({ interface: r.iface.name, group, err: (e as Error).message }, 'layer2: joining the solicited-node group failed');
            continue;
          }
          this.#ipGroupChange(r, 'join', ipOfGroup.get(group));
        }
        r.groups.set(group, users);
      }
    }
  }

  #ipGroupChange(r: Responder, change: 'join' | 'leave', groupIp: string | undefined): void {
    if (!r.ipGroups || !groupIp) return;
    try {
      if (change === 'join') r.ipGroups.join(groupIp);
      else r.ipGroups.leave(groupIp);
    } catch (e) {
      this.#log.warn({ interface: r.iface.name, group: groupIp, err: (e as Error).message }, `layer2: MLD ${change} failed`);
    }
  }

  // ------------------------------------------------------------------ helpers

  #allowed(state: IpState, r: Responder): boolean {
    return state.interfaces === 'all' || state.interfaces.has(r.iface.name);
  }

  #send(socket: FrameSocket, build: () => Uint8Array): boolean {
    try {
      if (socket.send(build())) return true;
    } catch (e) {
      this.#log.debug({ interface: socket.ifname, err: (e as Error).message }, 'layer2: send failed');
    }
    this.#sendFailures++;
    return false;
  }

  #count(ip: string): MutableCounters {
    let c = this.#counters.get(ip);
    if (!c) this.#counters.set(ip, (c = { requestsReceived: 0, responsesSent: 0, gratuitousSent: 0 }));
    return c;
  }

  #ignore(reason: string): void {
    this.#ignored.set(reason, (this.#ignored.get(reason) ?? 0) + 1);
  }

  #assertOpen(method: string): void {
    if (this.#closed) throw new Error(`L2Announcer.${method}: the announcer is closed`);
  }
}

/** 33:33:ff:xx:yy:zz -> ff02::1:ffxx:yyzz (the solicited-node group a multicast MAC stands for). */
function solicitedIpOfMac(mac: string): string | undefined {
  const m = /^33:33:ff:([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2})$/i.exec(mac);
  return m ? canonicalIp(`ff02::1:ff${m[1]}:${m[2]}${m[3]}`) ?? undefined : undefined;
}
