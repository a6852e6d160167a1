// ironlb's own metrics (speaker, and the controller's assign latency at the end): registered under ironlb_ names (none collides with MetalLB's
// metallb_ series), takeovers classified per reason, announce latency measured from the pass to
// the announcer's first gratuitous frame, membership state changes and detection time.
import { describe, expect, test } from 'vitest';
import type { Registry } from 'prom-client';
import type { FrameSocket, PacketSocketOptions } from '../../src/net/packetSocket.js';
import { L2Announcer } from '../../src/speaker/l2/announcer.js';
import type { NetInterface } from '../../src/speaker/l2/interfaces.js';
import type { MembershipEvent } from '../../src/speaker/membership/core.js';
import { SpeakerMetrics } from '../../src/speaker/metrics.js';

async function value(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  const metric = registry.getSingleMetric(name);
  if (!metric) throw new Error(`${name} is not registered`);
  const { values } = await metric.get();
  return values.find((v) => Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want))?.value;
}

async function histogram(registry: Registry, name: string): Promise<{ count: number; sum: number }> {
  const metric = registry.getSingleMetric(name);
  if (!metric) throw new Error(`${name} is not registered`);
  const values = (await metric.get()).values as { value: number; metricName?: string }[];
  return {
    count: values.find((v) => v.metricName === `${name}_count`)?.value ?? NaN,
    sum: values.find((v) => v.metricName === `${name}_sum`)?.value ?? NaN,
  };
}

const OURS = ['ironlb_speaker_announce_latency_seconds', 'ironlb_speaker_takeovers_total', 'ironlb_membership_member_state_changes_total', 'ironlb_membership_detection_seconds'];

describe('SpeakerMetrics (ironlb series)', () => {
  test('registers the ironlb series next to the MetalLB ones, without name clashes', async () => {
    const m = new SpeakerMetrics(() => new Map());
    const names = (await m.registry.getMetricsAsJSON()).map((x) => x.name);
    for (const n of OURS) expect(names).toContain(n);
    for (const n of names) expect(n, n).toMatch(/^(metallb_|ironlb_)/);
    expect(names.filter((n) => n.startsWith('ironlb_'))).toEqual(expect.arrayContaining(OURS));
    expect(new Set(names).size).toBe(names.length);
    // Every takeover reason is exported from the start (rate() needs the zero).
    const text = await m.registry.metrics();
    for (const r of ['ownerLeft', 'moved', 'newlyAssigned', 'startup']) expect(text).toContain(`ironlb_speaker_takeovers_total{reason="${r}"} 0`);
  });

  test('takeovers are classified by what the previous pass knew of the owner', async () => {
    const m = new SpeakerMetrics(() => new Map());
    const alive = new Set(['a', 'b', 'c']);
    // First pass of the process: everything we own counts as startup.
    m.noteLayer2Owners('a', new Map([['192.0.2.1', 'a'], ['192.0.2.2', 'b'], ['192.0.2.3', 'c']]), alive, 0);
    expect(await value(m.registry, 'ironlb_speaker_takeovers_total', { reason: 'startup' })).toBe(1);
    // b left the membership: its IP comes to us (ownerLeft); a new IP nobody owned (newlyAssigned);
    // c is alive but its IP moves to us (moved); our own IP stays ours (not counted again).
    const after = new Set(['a', 'c']);
    m.noteLayer2Owners('a', new Map([['192.0.2.1', 'a'], ['192.0.2.2', 'a'], ['192.0.2.3', 'a'], ['192.0.2.4', 'a']]), after, 1);
    expect(await value(m.registry, 'ironlb_speaker_takeovers_total', { reason: 'ownerLeft' })).toBe(1);
    expect(await value(m.registry, 'ironlb_speaker_takeovers_total', { reason: 'moved' })).toBe(1);
    expect(await value(m.registry, 'ironlb_speaker_takeovers_total', { reason: 'newlyAssigned' })).toBe(1);
    expect(await value(m.registry, 'ironlb_speaker_takeovers_total', { reason: 'startup' })).toBe(1);
    // Losing an IP and getting it back from nobody: newlyAssigned again.
    m.noteLayer2Owners('a', new Map([['192.0.2.4', undefined]]), after, 2);
    m.noteLayer2Owners('a', new Map([['192.0.2.4', 'a']]), after, 3);
    expect(await value(m.registry, 'ironlb_speaker_takeovers_total', { reason: 'newlyAssigned' })).toBe(2);
  });

  test('announce latency runs from the pass to the first gratuitous frame, once per takeover', async () => {
    let now = 1000;
    const m = new SpeakerMetrics(() => new Map(), { now: () => now });
    m.noteLayer2Owners('a', new Map([['192.0.2.1', 'a'], ['2001:db8::1', 'a']]), new Set(['a']), 1000);
    now = 1003;
    m.gratuitousSent('192.0.2.1');
    now = 1500;
    m.gratuitousSent('192.0.2.1'); // a later burst of the same window: not a new observation
    m.gratuitousSent('192.0.2.99'); // not ours
    let h = await histogram(m.registry, 'ironlb_speaker_announce_latency_seconds');
    expect(h.count).toBe(1);
    expect(h.sum).toBeCloseTo(0.003, 6);
    // An IP withdrawn before any frame went out is not observed later.
    m.noteLayer2Owners('a', new Map([['192.0.2.1', 'a'], ['2001:db8::1', 'b']]), new Set(['a', 'b']), 1600);
    m.gratuitousSent('2001:db8::1');
    h = await histogram(m.registry, 'ironlb_speaker_announce_latency_seconds');
    expect(h.count).toBe(1);
  });

  test('membership: state changes by target state, detection from first suspicion to dead', async () => {
    const m = new SpeakerMetrics(() => new Map());
    type State = 'alive' | 'suspect' | 'dead' | 'left';
    const ev = (name: string, from: State | undefined, to: State, at: number): MembershipEvent =>
      ({ kind: 'member', name, from, to, incarnation: 1, at });
    m.noteMembershipEvent(ev('b', undefined, 'alive', 0));
    m.noteMembershipEvent(ev('b', 'alive', 'suspect', 10_000));
    m.noteMembershipEvent(ev('b', 'suspect', 'suspect', 10_500)); // re-confirmed: still the first suspicion
    m.noteMembershipEvent(ev('b', 'suspect', 'dead', 12_500));
    // Suspected then refuted: no detection sample; dead learnt by gossip without suspicion: none either.
    m.noteMembershipEvent(ev('c', 'alive', 'suspect', 20_000));
    m.noteMembershipEvent(ev('c', 'suspect', 'alive', 20_300));
    m.noteMembershipEvent(ev('d', 'alive', 'dead', 30_000));
    m.noteMembershipEvent({ kind: 'view', stale: false, reason: 'synced', at: 30_001 });
    expect(await value(m.registry, 'ironlb_membership_member_state_changes_total', { to: 'alive' })).toBe(2);
    expect(await value(m.registry, 'ironlb_membership_member_state_changes_total', { to: 'suspect' })).toBe(3);
    expect(await value(m.registry, 'ironlb_membership_member_state_changes_total', { to: 'dead' })).toBe(2);
    const h = await histogram(m.registry, 'ironlb_membership_detection_seconds');
    expect(h.count).toBe(1);
    expect(h.sum).toBeCloseTo(2.5, 6);
  });
});

describe('L2Announcer onGratuitous hook', () => {
  const ifaces: NetInterface[] = [{ name: 'eth0', ifindex: 1, mac: '02:00:00:00:00:01', flags: 0x1003, hardwareType: 1, enslaved: false, linkLocal: 'fe80::1' }];
  function announcer(sendOk: () => boolean, onGratuitous: (ip: string) => void): L2Announcer {
    const socket = (ifname: string): FrameSocket => ({
      ifname, ifindex: 1, mac: Buffer.alloc(6), onFrame() {}, onError() {}, send: () => sendOk(), addMulticast() {}, dropMulticast() {}, close() {},
    }) as unknown as FrameSocket;
    return new L2Announcer({ listInterfaces: () => ifaces, openSocket: (n: string, _o: PacketSocketOptions) => socket(n), rescanIntervalMs: 0, gratuitousWindowMs: 0, onGratuitous });
  }

  test('is called once per burst that sent a frame, and feeds the latency histogram', async () => {
    const m = new SpeakerMetrics(() => new Map());
    const calls: string[] = [];
    const a = announcer(() => true, (ip) => {
      calls.push(ip);
      m.gratuitousSent(ip);
    });
    m.noteLayer2Owners('a', new Map([['192.0.2.7', 'a'], ['2001:db8::7', 'a']]), new Set(['a']), performance.now());
    a.setAnnouncements(new Map([['192.0.2.7', { interfaces: 'all' }], ['2001:db8::7', { interfaces: 'all' }]]));
    a.close();
    expect(calls.sort()).toEqual(['192.0.2.7', '2001:db8::7']);
    expect((await histogram(m.registry, 'ironlb_speaker_announce_latency_seconds')).count).toBe(2);
  });

  test('is not called when no frame could be sent', () => {
    const calls: string[] = [];
    const a = announcer(() => false, (ip) => calls.push(ip));
    a.setAnnouncements(new Map([['192.0.2.8', { interfaces: 'all' }]]));
    a.close();
    expect(calls).toEqual([]);
  });
});

describe('ControllerMetrics assign latency', () => {
  test('from the first sight of a Service without an IP to its ingress written, once', async () => {
    const { ControllerMetrics } = await import('../../src/controller/metrics.js');
    let now = 0;
    const m = new ControllerMetrics({ now: () => now });
    expect((await m.registry.getMetricsAsJSON()).map((x) => x.name)).toContain('ironlb_controller_assign_latency_seconds');
    m.serviceSeen('ns/a', 'needsIp');
    now = 40;
    m.serviceSeen('ns/a', 'needsIp'); // a later event of the same Service does not restart the clock
    now = 120;
    m.ingressWritten('ns/a');
    m.ingressWritten('ns/a'); // already counted
    m.serviceSeen('ns/b', 'needsIp');
    m.serviceSeen('ns/b', 'other'); // deleted or no longer a LoadBalancer: no sample
    m.ingressWritten('ns/b');
    m.ingressWritten('ns/c'); // never seen waiting (had its IP already)
    // The watch shows our own write before its response: the IP seen stops the clock, once.
    m.serviceSeen('ns/d', 'needsIp');
    now = 150;
    m.serviceSeen('ns/d', 'hasIp');
    m.ingressWritten('ns/d');
    const h = await histogram(m.registry, 'ironlb_controller_assign_latency_seconds');
    expect(h.count).toBe(2);
    expect(h.sum).toBeCloseTo(0.12 + 0.03, 6);
  });
});
