// L2Announcer against fake sockets and fake timers: answering rules (spec 4.5/4.6), gratuitous
// windows (4.7), interface rescans (4.4), multicast membership, counters, robustness.
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import type { FrameHandler, FrameSocket, PacketSocketOptions, SocketErrorHandler } from '../../src/net/packetSocket.js';
import { L2Announcer, type L2Announcement, type L2AnnouncerOptions } from '../../src/speaker/l2/announcer.js';
import { ARP_OP_REPLY, ARP_OP_REQUEST, buildArpRequest, buildGratuitousArp, parseArp } from '../../src/speaker/l2/arp.js';
import { formatMac, parseMac } from '../../src/speaker/l2/ethernet.js';
import type { NetInterface } from '../../src/speaker/l2/interfaces.js';
import { buildNeighborSolicitation, encodeNdFrame, parseNeighborAdvertisement } from '../../src/speaker/l2/ndp.js';

const CLIENT_MAC = parseMac('02:cc:00:00:00:01')!;

class FakeSocket implements FrameSocket {
  readonly ifindex: number;
  readonly sent: Uint8Array[] = [];
  readonly groups = new Set<string>();
  closed = false;
  sendResult: boolean | Error = true;
  #frame: FrameHandler | undefined;
  constructor(readonly ifname: string, readonly kind: 'arp' | 'ndp', readonly macText: string, ifindex: number) {
    this.ifindex = ifindex;
  }
  get mac(): Buffer {
    return Buffer.from(parseMac(this.macText)!);
  }
  onFrame(h: FrameHandler): void {
    this.#frame = h;
  }
  onError(_h: SocketErrorHandler): void {}
  send(frame: Uint8Array): boolean {
    if (this.closed) throw new Error('closed');
    if (this.sendResult instanceof Error) throw this.sendResult;
    if (this.sendResult) this.sent.push(Uint8Array.from(frame));
    return this.sendResult;
  }
  addMulticast(mac: Uint8Array | string): void {
    this.groups.add(typeof mac === 'string' ? mac : formatMac(mac));
  }
  dropMulticast(mac: Uint8Array | string): void {
    this.groups.delete(typeof mac === 'string' ? mac : formatMac(mac));
  }
  close(): void {
    this.closed = true;
  }
  deliver(frame: Uint8Array, pkttype = 1): void {
    this.#frame?.(Buffer.from(frame), pkttype);
  }
}

function iface(name: string, n: number, change: Partial<NetInterface> = {}): NetInterface {
  return { name, ifindex: n, mac: `02:00:00:00:00:0${n}`, flags: 0x1003, hardwareType: 1, enslaved: false, linkLocal: `fe80::${n}`, ...change };
}

class World {
  interfaces: NetInterface[] = [iface('eth0', 1), iface('eth1', 2), iface('veth9', 3)];
  sockets: FakeSocket[] = [];
  warnings: string[] = [];
  readonly announcer: L2Announcer;
  constructor(options: Partial<L2AnnouncerOptions> = {}, readonly openFailures = new Map<string, Error>()) {
    this.announcer = new L2Announcer({
      listInterfaces: () => this.interfaces,
      openSocket: (ifname: string, o: PacketSocketOptions) => {
        const failure = this.openFailures.get(ifname);
        if (failure) throw failure;
        const i = this.interfaces.find((x) => x.name === ifname)!;
        const s = new FakeSocket(ifname, o.ethertype === 0x0806 ? 'arp' : 'ndp', i.mac, i.ifindex);
        this.sockets.push(s);
        return s;
      },
      now: () => Date.now(),
      rescanIntervalMs: 10_000,
      logger: { debug() {}, info() {}, warn: (_o, m) => this.warnings.push(m) },
      ...options,
    });
  }
  socket(ifname: string, kind: 'arp' | 'ndp'): FakeSocket {
    const s = this.sockets.filter((x) => x.ifname === ifname && x.kind === kind && !x.closed);
    if (s.length !== 1) throw new Error(`expected one open ${kind} socket on ${ifname}, found ${s.length}`);
    return s[0]!;
  }
  open(): FakeSocket[] {
    return this.sockets.filter((s) => !s.closed);
  }
  totalSent(): number {
    return this.sockets.reduce((n, s) => n + s.sent.length, 0);
  }
  clearSent(): void {
    for (const s of this.sockets) s.sent.length = 0;
  }
}

const all: L2Announcement = { interfaces: 'all' };
const announce = (entries: [string, L2Announcement][]) => new Map(entries);

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('responders and interface scan', () => {
  test('opens one ARP and one NDP socket per eligible interface; excluded names get none', () => {
    const w = new World();
    expect(w.open().map((s) => `${s.ifname}/${s.kind}`).sort()).toEqual(['eth0/arp', 'eth0/ndp', 'eth1/arp', 'eth1/ndp']);
    expect(w.announcer.responders().map((r) => r.name)).toEqual(['eth0', 'eth1']);
    w.announcer.close();
  });

  test('the exclusion list is configurable (an empty list uses veth9 too)', () => {
    const w = new World({ excludeInterfaces: [] });
    expect(w.announcer.responders().map((r) => r.name).sort()).toEqual(['eth0', 'eth1', 'veth9']);
    w.announcer.close();
  });

  test('rescan closes sockets of interfaces that went down and reopens them when they come back (every 10 s)', () => {
    const w = new World();
    const before = w.socket('eth1', 'arp');
    w.interfaces = w.interfaces.map((i) => (i.name === 'eth1' ? { ...i, flags: 0x1002 } : i));
    vi.advanceTimersByTime(9_999);
    expect(before.closed).toBe(false);
    vi.advanceTimersByTime(1);
    expect(before.closed).toBe(true);
    expect(w.announcer.responders().map((r) => r.name)).toEqual(['eth0']);
    w.interfaces = w.interfaces.map((i) => (i.name === 'eth1' ? { ...i, flags: 0x1003 } : i));
    w.announcer.rescan();
    expect(w.socket('eth1', 'arp')).not.toBe(before);
    w.announcer.close();
  });

  test('a new MAC or ifindex under the same name reopens the sockets', () => {
    const w = new World();
    const old = w.socket('eth0', 'arp');
    w.interfaces = w.interfaces.map((i) => (i.name === 'eth0' ? { ...i, ifindex: 9 } : i));
    w.announcer.rescan();
    expect(old.closed).toBe(true);
    expect(w.socket('eth0', 'arp').ifindex).toBe(9);
    w.announcer.close();
  });

  test('an interface without link-local has ARP only; losing BROADCAST closes ARP but keeps NDP', () => {
    const w = new World();
    w.interfaces = [iface('eth0', 1, { linkLocal: undefined }), iface('eth1', 2, { flags: 0x1001 })];
    w.announcer.rescan();
    expect(w.open().map((s) => `${s.ifname}/${s.kind}`).sort()).toEqual(['eth0/arp', 'eth1/ndp']);
    w.announcer.close();
  });

  test('a socket that cannot be opened is logged once and retried at the next scan', () => {
    const w = new World({}, new Map([['eth1', new Error('boom')]]));
    expect(w.announcer.responders().map((r) => r.name)).toEqual(['eth0']);
    w.announcer.rescan();
    w.announcer.rescan();
    expect(w.warnings.filter((m) => m.includes('cannot open'))).toHaveLength(2); // ARP and NDP, once each
    w.openFailures.clear();
    w.announcer.rescan();
    expect(w.announcer.responders().map((r) => r.name)).toEqual(['eth0', 'eth1']);
    w.announcer.close();
  });
});

describe('gratuitous announcements (spec 4.7)', () => {
  test('the first burst is sent before setAnnouncements returns: ARP request + reply per interface', () => {
    const w = new World();
    w.announcer.setAnnouncements(announce([['192.0.2.200', all]]));
    for (const name of ['eth0', 'eth1']) {
      const frames = w.socket(name, 'arp').sent.map((f) => parseArp(f));
      expect(frames.map((p) => p.ok && p.value.operation)).toEqual([ARP_OP_REQUEST, ARP_OP_REPLY]);
      for (const p of frames) {
        if (!p.ok) throw new Error(p.reason);
        expect(p.value.senderIp).toBe('192.0.2.200');
        expect(p.value.targetIp).toBe('192.0.2.200');
        expect(formatMac(p.value.senderMac)).toBe(w.socket(name, 'arp').macText);
      }
    }
    expect(w.announcer.counters().get('192.0.2.200')?.gratuitousSent).toBe(4);
    w.announcer.close();
  });

  test('bursts at 0, 1.1, 2.2, 3.3, 4.4 s, then silence', () => {
    const w = new World();
    w.announcer.setAnnouncements(announce([['192.0.2.200', { interfaces: ['eth0'] }]]));
    const arp = w.socket('eth0', 'arp');
    const bursts = () => arp.sent.length / 2;
    expect(bursts()).toBe(1);
    vi.advanceTimersByTime(1099);
    expect(bursts()).toBe(1);
    vi.advanceTimersByTime(1);
    expect(bursts()).toBe(2);
    vi.advanceTimersByTime(3300);
    expect(bursts()).toBe(5);
    vi.advanceTimersByTime(20_000);
    expect(bursts()).toBe(5);
    expect(w.socket('eth1', 'arp').sent).toHaveLength(0);
    w.announcer.close();
  });

  test('re-announcing inside the window extends it without an extra immediate burst', () => {
    const w = new World();
    w.announcer.setAnnouncements(announce([['192.0.2.200', { interfaces: ['eth0'] }]]));
    const arp = w.socket('eth0', 'arp');
    vi.advanceTimersByTime(3000);
    expect(arp.sent.length / 2).toBe(3); // 0, 1.1, 2.2
    w.announcer.reannounce('192.0.2.200');
    expect(arp.sent.length / 2).toBe(3);
    vi.advanceTimersByTime(5000); // window now ends at 8.0 s: bursts at 3.3 .. 7.7
    expect(arp.sent.length / 2).toBe(8);
    vi.advanceTimersByTime(10_000);
    expect(arp.sent.length / 2).toBe(8);
    w.announcer.close();
  });

  test('repeating the same desired state sends nothing; reannounce() and a changed interface list do', () => {
    const w = new World();
    const desired = announce([['192.0.2.200', { interfaces: ['eth0'] }]]);
    w.announcer.setAnnouncements(desired);
    vi.advanceTimersByTime(10_000);
    w.clearSent();
    w.announcer.setAnnouncements(desired);
    expect(w.totalSent()).toBe(0);
    w.announcer.reannounce('192.0.2.200');
    expect(w.totalSent()).toBe(2);
    vi.advanceTimersByTime(10_000);
    w.clearSent();
    w.announcer.setAnnouncements(announce([['192.0.2.200', { interfaces: ['eth0', 'eth1'] }]]));
    expect(w.socket('eth0', 'arp').sent).toHaveLength(2);
    expect(w.socket('eth1', 'arp').sent).toHaveLength(2);
    w.announcer.close();
  });

  test('IPv6: one unsolicited NA (O=1) from the link-local address per interface and burst', () => {
    const w = new World();
    w.announcer.setAnnouncements(announce([['2001:db8:1::200', all]]));
    const sent = w.socket('eth1', 'ndp').sent;
    expect(sent).toHaveLength(1);
    const na = parseNeighborAdvertisement(sent[0]!);
    if (!na.ok) throw new Error(na.reason);
    expect(na.value).toMatchObject({ sourceIp: 'fe80::2', destinationIp: 'ff02::1', targetIp: '2001:db8:1::200', override: true, solicited: false });
    expect(formatMac(na.value.targetLinkLayer!)).toBe('02:00:00:00:00:02');
    expect(w.socket('eth0', 'arp').sent).toHaveLength(0);
    w.announcer.close();
  });

  test('withdrawing an IP stops its bursts at once', () => {
    const w = new World();
    w.announcer.setAnnouncements(announce([['192.0.2.200', all]]));
    w.announcer.setAnnouncements(new Map());
    w.clearSent();
    vi.advanceTimersByTime(6000);
    expect(w.totalSent()).toBe(0);
    w.announcer.close();
  });
});

describe('answering (spec 4.5, 4.6)', () => {
  test('answers ARP requests only for announced IPs, only on allowed interfaces', () => {
    const w = new World();
    w.announcer.setAnnouncements(announce([['192.0.2.200', { interfaces: ['eth1'] }]]));
    w.clearSent();
    const ask = (ifname: string, ip: string) => w.socket(ifname, 'arp').deliver(buildArpRequest(CLIENT_MAC, '192.0.2.100', ip));
    ask('eth0', '192.0.2.200');
    ask('eth1', '192.0.2.201');
    expect(w.totalSent()).toBe(0);
    ask('eth1', '192.0.2.200');
    const [reply] = w.socket('eth1', 'arp').sent;
    const p = parseArp(reply!);
    if (!p.ok) throw new Error(p.reason);
    expect(p.value).toMatchObject({ operation: ARP_OP_REPLY, senderIp: '192.0.2.200', targetIp: '192.0.2.100' });
    expect(formatMac(p.value.senderMac)).toBe('02:00:00:00:00:02');
    expect(formatMac(p.value.ethernetDestination)).toBe('02:cc:00:00:00:01');
    expect(w.announcer.counters().get('192.0.2.200')).toMatchObject({ requestsReceived: 1, responsesSent: 1 });
    expect(w.announcer.frameStats().ignored).toMatchObject({ 'interface-not-allowed': 1, 'not-announced': 1 });
    w.announcer.close();
  });

  test('ignores requests to another host\'s MAC, OTHERHOST frames and gratuitous ARP from others', () => {
    const w = new World();
    w.announcer.setAnnouncements(announce([['192.0.2.200', all]]));
    w.clearSent();
    const arp = w.socket('eth0', 'arp');
    const unicastElsewhere = buildArpRequest(CLIENT_MAC, '192.0.2.100', '192.0.2.200');
    unicastElsewhere.set(parseMac('02:dd:00:00:00:09')!, 0);
    arp.deliver(unicastElsewhere, 0);
    arp.deliver(buildArpRequest(CLIENT_MAC, '192.0.2.100', '192.0.2.200'), 3);
    arp.deliver(buildGratuitousArp(CLIENT_MAC, '192.0.2.200', 'request'));
    expect(arp.sent).toHaveLength(0);
    const toUs = buildArpRequest(CLIENT_MAC, '192.0.2.100', '192.0.2.200');
    toUs.set(parseMac('02:00:00:00:00:01')!, 0); // unicast to eth0's MAC (e.g. a NUD re-check)
    arp.deliver(toUs, 0);
    expect(arp.sent).toHaveLength(1);
    w.announcer.close();
  });

  test('answers NS with a source link-layer option with a solicited NA; ignores DAD probes', () => {
    const w = new World();
    w.announcer.setAnnouncements(announce([['2001:db8:1::200', all]]));
    w.clearSent();
    const ndp = w.socket('eth0', 'ndp');
    ndp.deliver(encodeNdFrame({
      ethernetDestination: parseMac('33:33:ff:00:02:00')!, ethernetSource: CLIENT_MAC, sourceIp: '::', destinationIp: 'ff02::1:ff00:200', type: 135, targetIp: '2001:db8:1::200',
    }), 2);
    expect(ndp.sent).toHaveLength(0);
    expect(w.announcer.frameStats().ignored['no-source-link-layer-option']).toBe(1);
    ndp.deliver(buildNeighborSolicitation(CLIENT_MAC, '2001:db8:1::100', '2001:db8:1::200'), 2);
    expect(ndp.sent).toHaveLength(1);
    const na = parseNeighborAdvertisement(ndp.sent[0]!);
    if (!na.ok) throw new Error(na.reason);
    expect(na.value).toMatchObject({ sourceIp: 'fe80::1', destinationIp: '2001:db8:1::100', targetIp: '2001:db8:1::200', solicited: true, override: false });
    expect(formatMac(na.value.ethernetDestination)).toBe('02:cc:00:00:00:01');
    ndp.deliver(buildNeighborSolicitation(CLIENT_MAC, '2001:db8:1::100', '2001:db8:1::201'), 2);
    expect(ndp.sent).toHaveLength(1);
    expect(w.announcer.counters().get('2001:db8:1::200')).toMatchObject({ requestsReceived: 1, responsesSent: 1, gratuitousSent: 2 });
    w.announcer.close();
  });

  test('IP keys are canonicalised: "2001:DB8:1:0::200" answers NS for 2001:db8:1::200', () => {
    const w = new World();
    w.announcer.setAnnouncements(announce([['2001:DB8:1:0::200', { interfaces: ['eth0'] }]]));
    w.clearSent();
    w.socket('eth0', 'ndp').deliver(buildNeighborSolicitation(CLIENT_MAC, 'fe80::99', '2001:db8:1::200'), 2);
    expect(w.socket('eth0', 'ndp').sent).toHaveLength(1);
    expect(w.announcer.interfacesFor('2001:db8:1::200')).toEqual(['eth0']);
    w.announcer.close();
  });

  test('withdrawn IPs are no longer answered; counters stay', () => {
    const w = new World();
    w.announcer.setAnnouncements(announce([['192.0.2.200', all]]));
    w.announcer.setAnnouncements(new Map());
    w.clearSent();
    w.socket('eth0', 'arp').deliver(buildArpRequest(CLIENT_MAC, '192.0.2.100', '192.0.2.200'));
    expect(w.totalSent()).toBe(0);
    expect(w.announcer.counters().get('192.0.2.200')?.gratuitousSent).toBe(4);
    w.announcer.close();
  });

  test('failed sends are counted, not thrown, and do not count as responses', () => {
    const w = new World();
    for (const s of w.sockets) s.sendResult = new Error('ENETDOWN');
    expect(() => w.announcer.setAnnouncements(announce([['192.0.2.200', all]]))).not.toThrow();
    w.socket('eth0', 'arp').deliver(buildArpRequest(CLIENT_MAC, '192.0.2.100', '192.0.2.200'));
    expect(w.announcer.counters().get('192.0.2.200')).toMatchObject({ requestsReceived: 1, responsesSent: 0 });
    expect(w.announcer.counters().get('192.0.2.200')?.gratuitousSent ?? 0).toBe(0);
    expect(w.announcer.frameStats().sendFailures).toBe(5);
    w.announcer.close();
  });

  test('no frame, however malformed, escapes as an exception or gets an answer', () => {
    const w = new World();
    w.announcer.setAnnouncements(announce([['192.0.2.200', all], ['2001:db8:1::200', all]]));
    w.clearSent();
    const targets = [w.socket('eth0', 'arp'), w.socket('eth0', 'ndp')];
    fc.assert(fc.property(fc.constantFrom(...targets), fc.uint8Array({ maxLength: 120 }), fc.integer({ min: 0, max: 4 }), (socket, bytes, pkttype) => {
      expect(() => socket.deliver(bytes, pkttype)).not.toThrow();
    }), { numRuns: 1000 });
    expect(w.totalSent()).toBe(0);
    expect(w.announcer.frameStats().framesReceived).toBeGreaterThanOrEqual(1000);
    w.announcer.close();
  });
});

describe('solicited-node multicast membership', () => {
  test('joined on allowed NDP interfaces, shared by IPs with the same low 24 bits, left when the last one goes', () => {
    const w = new World();
    w.announcer.setAnnouncements(announce([['2001:db8:1::200', { interfaces: ['eth0'] }], ['2001:db8:2::200', all]]));
    expect([...w.socket('eth0', 'ndp').groups]).toEqual(['33:33:ff:00:02:00']);
    expect([...w.socket('eth1', 'ndp').groups]).toEqual(['33:33:ff:00:02:00']);
    w.announcer.setAnnouncements(announce([['2001:db8:1::200', { interfaces: ['eth0'] }]]));
    expect([...w.socket('eth0', 'ndp').groups]).toEqual(['33:33:ff:00:02:00']);
    expect([...w.socket('eth1', 'ndp').groups]).toEqual([]);
    w.announcer.setAnnouncements(new Map());
    expect([...w.socket('eth0', 'ndp').groups]).toEqual([]);
    w.announcer.close();
  });

  test('a reopened NDP socket joins the groups again', () => {
    const w = new World();
    w.announcer.setAnnouncements(announce([['2001:db8:1::200', all]]));
    w.interfaces = w.interfaces.map((i) => (i.name === 'eth0' ? { ...i, mac: '02:00:00:00:00:77' } : i));
    w.announcer.rescan();
    expect([...w.socket('eth0', 'ndp').groups]).toEqual(['33:33:ff:00:02:00']);
    w.announcer.close();
  });
});

describe('API contract', () => {
  test('bad input throws naming the entry and changes nothing', () => {
    const w = new World();
    w.announcer.setAnnouncements(announce([['192.0.2.200', all]]));
    expect(() => w.announcer.setAnnouncements(announce([['192.0.2.201', all], ['not-an-ip', all]]))).toThrow(/"not-an-ip": not an IP address/);
    expect(() => w.announcer.setAnnouncements(new Map([['192.0.2.201', { interfaces: 'eth0' as unknown as 'all' }]]))).toThrow(/interfaces must be/);
    expect(w.announcer.interfacesFor('192.0.2.200')).toEqual(['eth0', 'eth1']);
    expect(w.announcer.interfacesFor('192.0.2.201')).toEqual([]);
    w.announcer.close();
  });

  test('close() closes every socket, stops timers, and later calls throw', () => {
    const w = new World();
    w.announcer.setAnnouncements(announce([['192.0.2.200', all]]));
    w.announcer.close();
    expect(w.open()).toHaveLength(0);
    expect(vi.getTimerCount()).toBe(0);
    expect(() => w.announcer.setAnnouncements(new Map())).toThrow(/closed/);
    w.announcer.close(); // idempotent
  });
});
