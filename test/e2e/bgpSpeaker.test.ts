// BgpSpeaker (the BGP session manager) against real routers in network namespaces (root): BIRD 2,
// FRR and GoBGP each get an eBGP IPv4 and an IPv6 session from us and show our prefixes with next
// hop, AS path, communities and large communities, and lose them on withdraw. Per daemon further:
// graceful restart (BIRD, FRR: the route never leaves the router's table while we restart), BFD
// (BIRD, FRR: the router freezes, our session drops in well under the hold time); for each of the
// three: iBGP LOCAL_PREF, TCP MD5, eBGP multihop through a routed hop, and an aggregate computed by
// bgpAnnouncementsFor from a parsed Config; a raw TCP peer sending malformed messages (GoBGP).
// Our sockets are opened in namespace "node" by the tcpsock addon (spec.netns); BFD runs there as a
// child process (routers/childBfd.ts).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Socket } from 'node:net';
import pino from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parseConfig } from '../../src/config/index.js';
import type { Community } from '../../src/config/model.js';
import { bgpAnnouncementsFor } from '../../src/speaker/bgpAnnouncements.js';
import { BgpMetrics, BgpSpeaker, type PeerSessionSpec } from '../../src/speaker/bgp/bgpSpeaker.js';
import { Afi, Safi } from '../../src/speaker/bgp/codec/capabilities.js';
import { encodeMessage, MessageFramer } from '../../src/speaker/bgp/codec/messages.js';
import type { AdvertisedRoute, DesiredRib } from '../../src/speaker/bgp/ribOut.js';
import { listenBgp } from '../../src/speaker/bgp/transport.js';
import { NamespacedBfd } from './routers/childBfd.js';
import {
  addNamespace,
  enableForwarding,
  inNs,
  kernelRoutes,
  link,
  removeStaleTestNamespaces,
  removeTestNamespaces,
  startRouter,
  useNamespaceTag,
  type RibRoute,
  type RouterKind,
  type RunningRouter,
} from './routers/index.js';

useNamespaceTag('bgpspk');

const ROUTER_ASN = 64512;
const NODE_ASN = 64513;
const RAW_ASN = 64999;
const MD5 = 'ironlb-speaker-md5';
const root = process.getuid?.() === 0;
// Network namespaces need root: a missing prerequisite fails with the fix, never a silent skip.
beforeAll(() => {
  if (!root) throw new Error('these tests create network namespaces and must run as root (sudo npm test)');
});

/**
 * Per router: its link to the node (node address, router address, IPv6 pair, extra node addresses
 * for the iBGP and MD5 sessions) and its link to the hop namespace (hop side, router side, /30).
 */
const LINKS = {
  bird: { ifname: 'to-bird', node: '192.0.2.1', router: '192.0.2.2', node6: '2001:db8:b1::1', router6: '2001:db8:b1::2', md5Node: '192.0.2.3', ibgpNode: '192.0.2.4', hopSide: '198.51.100.9', viaHop: '198.51.100.10', hopNet: '198.51.100.8/30', hopIf: 'eth2' },
  frr: { ifname: 'to-frr', node: '192.0.2.17', router: '192.0.2.18', node6: '2001:db8:f1::1', router6: '2001:db8:f1::2', md5Node: '192.0.2.19', ibgpNode: '192.0.2.20', hopSide: '198.51.100.13', viaHop: '198.51.100.14', hopNet: '198.51.100.12/30', hopIf: 'eth3' },
  gobgp: { ifname: 'to-gobgp', node: '192.0.2.33', router: '192.0.2.34', node6: '2001:db8:6b::1', router6: '2001:db8:6b::2', md5Node: '192.0.2.35', ibgpNode: '192.0.2.36', hopSide: '198.51.100.5', viaHop: '198.51.100.6', hopNet: '198.51.100.4/30', hopIf: 'eth1' },
} as const;
const HOP_NODE = '198.51.100.1'; // node -- hop -- router: each router is two IP hops away on this path
const RAW_NODE = '203.0.113.1';
const RAW_PEER = '203.0.113.2';

// Announced prefixes: outside every link subnet.
const P4A = '203.0.113.200/32';
const P4B = '203.0.113.201/32';
const P6A = '2001:db8:ffff::10/128';
const P6B = '2001:db8:ffff::11/128';
const COMMUNITIES: Community[] = [
  { kind: 'standard', value: (64513 << 16) + 100 },
  { kind: 'large', global: 64513, local1: 1, local2: 2 },
];
const BFD_PROFILE = { name: 'fast', receiveInterval: 100, transmitInterval: 100, detectMultiplier: 3, echoInterval: 50, echoMode: false, passiveMode: false, minimumTtl: 254 };

let dir = '';
let nodeNs = '';
const routerNs: Partial<Record<RouterKind, string>> = {};
let hopNs = '';
let rawNs = '';
const cleanups: (() => Promise<void> | void)[] = [];

function rib(entries: [string, AdvertisedRoute][]): DesiredRib {
  return new Map(entries);
}
const withCommunities: AdvertisedRoute = { communities: COMMUNITIES };
const plain: AdvertisedRoute = { communities: [] };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until<T>(what: string, fn: () => T | undefined | false, timeoutMs: number, detail: () => string = () => ''): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}\n${detail()}`);
    await sleep(25);
  }
}

interface StateEvent {
  peer: string;
  state: string;
  reason: string;
  t: number;
}

function newSpeaker(name: string, bfd?: NamespacedBfd): { speaker: BgpSpeaker; events: StateEvent[]; registry: Registry } {
  const events: StateEvent[] = [];
  const registry = new Registry();
  const log = pino({ level: 'debug', base: { speaker: name } }, pino.destination({ dest: join(dir, `${name}.log`), sync: true }));
  const speaker = new BgpSpeaker({
    nodeName: 'node-a',
    log,
    metrics: new BgpMetrics(registry),
    onStateChange: (peer, state, reason) => events.push({ peer, state, reason, t: Date.now() }),
    ...(bfd ? { bfd } : {}),
  });
  return { speaker, events, registry };
}

function spec(name: string, peerAddress: string, extra: Partial<PeerSessionSpec> = {}): PeerSessionSpec {
  return { name, peerAddress, peerPort: 179, peerAsn: ROUTER_ASN, localAsn: NODE_ASN, holdTime: 90, ebgpMultiHop: false, gracefulRestart: false, netns: nodeNs, ...extra };
}

function stateOf(speaker: BgpSpeaker, name: string) {
  const s = speaker.status().find((x) => x.name === name);
  if (!s) throw new Error(`no session ${name}`);
  return s;
}

async function established(speaker: BgpSpeaker, name: string, timeoutMs = 15_000): Promise<number> {
  const t0 = Date.now();
  await until(`session ${name} Established`, () => stateOf(speaker, name).state === 'Established', timeoutMs, () => JSON.stringify(speaker.status()));
  return Date.now() - t0;
}

async function routeAt(router: RunningRouter, family: 'ipv4' | 'ipv6', prefix: string, timeoutMs = 10_000): Promise<RibRoute> {
  return until(`${prefix} in ${router.kind}'s ${family} table`, () => router.rib(family).find((r) => r.prefix === prefix), timeoutMs, () => `${router.kind} table: ${JSON.stringify(router.rib(family))}\n${router.logText().slice(-1500)}`);
}

async function routeGone(router: RunningRouter, family: 'ipv4' | 'ipv6', prefix: string, timeoutMs = 10_000): Promise<number> {
  const t0 = Date.now();
  await until(`${prefix} gone from ${router.kind}`, () => !router.rib(family).some((r) => r.prefix === prefix), timeoutMs);
  return Date.now() - t0;
}

function metric(text: string, name: string, peer: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{peer="${peer}"}`));
  return line === undefined ? undefined : Number(line.split(' ').pop());
}

const note = (msg: string) => process.stderr.write(`[bgpSpeaker] ${msg}\n`);

beforeAll(async () => {
  if (!root) return;
  await removeStaleTestNamespaces();
  dir = mkdtempSync(join(tmpdir(), 'ironlb-bgpspk-'));
  nodeNs = addNamespace('node');
  for (const kind of ['bird', 'frr', 'gobgp'] as const) {
    const l = LINKS[kind];
    routerNs[kind] = addNamespace(kind);
    link({ ns: nodeNs, ifname: l.ifname, addresses: [`${l.node}/28`, `${l.md5Node}/28`, `${l.ibgpNode}/28`, `${l.node6}/64`] }, { ns: routerNs[kind]!, ifname: 'eth0', addresses: [`${l.router}/28`, `${l.router6}/64`] });
  }
  hopNs = addNamespace('hop');
  link({ ns: nodeNs, ifname: 'to-hop', addresses: [`${HOP_NODE}/30`] }, { ns: hopNs, ifname: 'eth0', addresses: ['198.51.100.2/30'] });
  enableForwarding(hopNs);
  for (const kind of ['bird', 'frr', 'gobgp'] as const) {
    const l = LINKS[kind];
    link({ ns: hopNs, ifname: l.hopIf, addresses: [`${l.hopSide}/30`] }, { ns: routerNs[kind]!, ifname: 'eth1', addresses: [`${l.viaHop}/30`] });
    inNs(nodeNs, 'ip', ['route', 'add', l.hopNet, 'via', '198.51.100.2']);
    inNs(routerNs[kind]!, 'ip', ['route', 'add', '198.51.100.0/30', 'via', l.hopSide]);
  }
  rawNs = addNamespace('raw');
  link({ ns: nodeNs, ifname: 'to-raw', addresses: [`${RAW_NODE}/30`] }, { ns: rawNs, ifname: 'eth0', addresses: [`${RAW_PEER}/30`] });
});

afterAll(async () => {
  if (!root) return;
  for (const c of cleanups.reverse()) {
    try {
      await c();
    } catch (e) {
      note(`cleanup: ${(e as Error).message}`);
    }
  }
  await removeTestNamespaces();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** eBGP IPv4 + IPv6 sessions to one router: prefixes with next hop, AS path, communities; withdraw. */
async function ebgpMatrix(kind: RouterKind, router: RunningRouter, speaker: BgpSpeaker, registry: Registry): Promise<void> {
  const l = LINKS[kind as keyof typeof LINKS];
  const v4 = `${kind}-v4`;
  const v6 = `${kind}-v6`;
  speaker.setDesired(v4, rib([[P4A, withCommunities], [P4B, plain]]));
  speaker.setDesired(v6, rib([[P6A, withCommunities], [P6B, plain]]));
  const [ms4, ms6] = await Promise.all([established(speaker, v4), established(speaker, v6)]);
  const t0 = Date.now();
  const r4 = await routeAt(router, 'ipv4', P4A);
  const r4b = await routeAt(router, 'ipv4', P4B);
  const r6 = await routeAt(router, 'ipv6', P6A);
  await routeAt(router, 'ipv6', P6B);
  note(`${kind}: Established v4 ${ms4} ms, v6 ${ms6} ms; all 4 prefixes in the router table ${Date.now() - t0} ms after`);
  expect(r4).toMatchObject({ nextHops: [l.node], asPath: [NODE_ASN], communities: ['64513:100'], largeCommunities: ['64513:1:2'] });
  expect(r4b).toMatchObject({ nextHops: [l.node], asPath: [NODE_ASN], communities: [], largeCommunities: [] });
  expect(r6.nextHops).toContain(l.node6);
  expect(r6).toMatchObject({ asPath: [NODE_ASN], communities: ['64513:100'], largeCommunities: ['64513:1:2'] });
  expect(router.sessionState(l.node)).toBe('established');
  expect(stateOf(speaker, v4)).toMatchObject({ prefixesSent: 2, prefixesPending: 0 });

  // Withdraw one prefix of each family.
  const tw = Date.now();
  speaker.setDesired(v4, rib([[P4A, withCommunities]]));
  speaker.setDesired(v6, rib([[P6A, withCommunities]]));
  const gone4 = await routeGone(router, 'ipv4', P4B);
  const gone6 = await routeGone(router, 'ipv6', P6B);
  note(`${kind}: withdraw seen in the router table after ${gone4} ms (v4), ${Date.now() - tw} ms (v6 ${gone6} ms after v4)`);
  expect(router.rib('ipv4').some((r) => r.prefix === P4A)).toBe(true);
  expect(router.rib('ipv6').some((r) => r.prefix === P6A)).toBe(true);

  const text = await registry.metrics();
  const peer = `${l.router}:179`;
  expect(metric(text, 'metallb_bgp_session_up', peer)).toBe(1);
  expect(metric(text, 'metallb_bgp_announced_prefixes_total', peer)).toBe(1);
  expect(metric(text, 'metallb_bgp_pending_prefixes_total', peer)).toBe(0);
  expect(metric(text, 'metallb_bgp_updates_total', peer)).toBeGreaterThanOrEqual(3); // announce(s), EoR, withdraw
  expect(metric(text, 'metallb_bgp_session_up', `[${l.router6}]:179`)).toBe(1);
}

/** Graceful restart: stop({graceful}) and a new speaker; the route never leaves the router's table. */
async function gracefulRestart(kind: RouterKind, router: RunningRouter, old: BgpSpeaker, specs: PeerSessionSpec[], bfd?: NamespacedBfd) {
  const v4 = `${kind}-v4`;
  await routeAt(router, 'ipv4', P4A);
  // Sample the BGP table (slow for FRR: vtysh per prefix) and the kernel route the daemon installed (fast).
  let samples = 0;
  let kernelSamples = 0;
  const missing: string[] = [];
  let polling = true;
  const ns = routerNs[kind]!;
  const poller = (async () => {
    for (let i = 0; polling; i++) {
      kernelSamples++;
      if (!kernelRoutes(ns).some((r) => r.prefix === P4A)) missing.push(`kernel ${Date.now()}`);
      if (i % 3 === 0) {
        samples++;
        if (!router.rib('ipv4').some((r) => r.prefix === P4A)) missing.push(`bgp table ${Date.now()}`);
      }
      await sleep(10);
    }
  })();
  const t0 = Date.now();
  await old.stop({ graceful: true });
  const stopMs = Date.now() - t0;
  // The router noticed: its session is down while the route stays (stale).
  await until(`${kind} sees the session down`, () => router.sessionState(LINKS[kind as keyof typeof LINKS].node) !== 'established', 5000);
  const downSeen = Date.now() - t0;
  await sleep(500);
  const next = newSpeaker(`${kind}-restarted`, bfd);
  next.speaker.setPeers(specs);
  next.speaker.setDesired(v4, rib([[P4A, withCommunities]]));
  next.speaker.setDesired(`${kind}-v6`, rib([[P6A, withCommunities]]));
  await established(next.speaker, v4);
  const upMs = Date.now() - t0;
  await sleep(1500); // End-of-RIB processed: stale routes not re-announced would go now
  polling = false;
  await poller;
  note(`${kind} graceful restart: stop ${stopMs} ms, router saw the session down at ${downSeen} ms, re-Established at ${upMs} ms; ${samples} BGP table and ${kernelSamples} kernel samples, ${missing.length} without the route`);
  expect(missing).toEqual([]);
  // The poll really ran through the restart (each sample spawns the daemon's CLI: few on a loaded machine).
  expect(samples).toBeGreaterThan(2);
  expect(kernelSamples).toBeGreaterThan(5);
  const r = await routeAt(router, 'ipv4', P4A);
  expect(r.nextHops).toEqual([LINKS[kind as keyof typeof LINKS].node]);
  return next;
}

/** BFD: the router freezes (SIGSTOP); our session goes down on BFD long before the 9 s hold time. */
async function bfdDetects(kind: RouterKind, router: RunningRouter, speaker: BgpSpeaker, events: StateEvent[], specs: PeerSessionSpec[]) {
  const v4 = `${kind}-v4`;
  const l = LINKS[kind as keyof typeof LINKS];
  const withBfd = specs.map((s) => (s.name === v4 ? { ...s, bfd: BFD_PROFILE, sourceAddress: l.node } : s));
  speaker.setPeers(withBfd); // changed spec: the session restarts
  await established(speaker, v4);
  await until(`${kind}: our BFD session Up`, () => stateOf(speaker, v4).bfdState === 'Up', 15_000, () => JSON.stringify(speaker.status()) + '\n' + router.logText().slice(-1500));
  await sleep(1500); // Up is reached at the 1 s slow-start rate; the Poll to 100 ms follows (RFC 5880 §6.8.3)
  const pids = router.pids();
  const from = events.length;
  const t0 = Date.now();
  for (const pid of pids) process.kill(pid, 'SIGSTOP');
  try {
    const down = await until(`${kind}: our session down after SIGSTOP`, () => events.slice(from).find((e) => e.peer === v4 && e.state !== 'Established'), 8000, () => JSON.stringify(events.slice(from)));
    const ms = down.t - t0;
    note(`${kind} BFD: router frozen -> our session ${down.state} after ${ms} ms (${down.reason})`);
    expect(down.reason).toMatch(/BFD/);
    expect(ms).toBeLessThan(2500); // hold time is 9 s
    expect(stateOf(speaker, `${kind}-v6`).state).toBe('Established'); // no BFD there: still up (hold not expired)
  } finally {
    for (const pid of pids) process.kill(pid, 'SIGCONT');
  }
  return withBfd;
}

/** The router's neighbours for the iBGP, MD5 and multihop sessions (next to its eBGP v4/v6 ones). */
function extraNeighbors(kind: keyof typeof LINKS) {
  const l = LINKS[kind];
  return [
    { address: l.ibgpNode, asn: ROUTER_ASN, passive: true },
    { address: l.md5Node, asn: NODE_ASN, passive: true, md5Password: MD5 },
    { address: HOP_NODE, asn: NODE_ASN, passive: true, multihop: 255 },
  ];
}

/** iBGP: LOCAL_PREF from the advertisement reaches the router's table; the AS path stays empty. */
async function ibgpLocalPref(kind: keyof typeof LINKS, router: RunningRouter, speaker: BgpSpeaker, specs: PeerSessionSpec[]) {
  const l = LINKS[kind];
  const name = `${kind}-ibgp`;
  speaker.setPeers([...specs, spec(name, l.router, { localAsn: ROUTER_ASN, sourceAddress: l.ibgpNode, families: ['ipv4'] })]);
  speaker.setDesired(name, rib([['203.0.113.210/32', { localPref: 150, communities: [] }]]));
  try {
    await established(speaker, name);
    const r = await routeAt(router, 'ipv4', '203.0.113.210/32');
    expect(r).toMatchObject({ nextHops: [l.ibgpNode], asPath: [], localPref: 150 });
    expect(router.sessionState(l.ibgpNode)).toBe('established');
  } finally {
    speaker.setPeers(specs);
  }
}

/** TCP MD5: a wrong password never reaches Established; the right one does and carries a route. */
async function md5Session(kind: keyof typeof LINKS, router: RunningRouter, speaker: BgpSpeaker, events: StateEvent[], specs: PeerSessionSpec[]) {
  const l = LINKS[kind];
  const name = `${kind}-md5`;
  const md5 = (password: string) => spec(name, l.router, { sourceAddress: l.md5Node, password, families: ['ipv4'] });
  try {
    speaker.setPeers([...specs, md5('not-the-key')]);
    speaker.setDesired(name, rib([['203.0.113.220/32', plain]]));
    await sleep(4000);
    expect(events.filter((e) => e.peer === name && e.state === 'Established')).toEqual([]);
    expect(stateOf(speaker, name).state).not.toBe('Established');
    expect(router.sessionState(l.md5Node)).not.toBe('established');
    speaker.setPeers([...specs, md5(MD5)]); // changed password: the session restarts
    const ms = await established(speaker, name, 20_000);
    note(`${kind} MD5: Established ${ms} ms after the right key was set`);
    expect((await routeAt(router, 'ipv4', '203.0.113.220/32')).nextHops).toEqual([l.md5Node]);
  } finally {
    speaker.setPeers(specs);
  }
}

/** eBGP multihop (TTL 255) to the router's far address, through the routed hop namespace. */
async function multihopSession(kind: keyof typeof LINKS, router: RunningRouter, speaker: BgpSpeaker, specs: PeerSessionSpec[]) {
  const l = LINKS[kind];
  const name = `${kind}-multihop`;
  speaker.setPeers([...specs, spec(name, l.viaHop, { ebgpMultiHop: true, families: ['ipv4'] })]);
  speaker.setDesired(name, rib([['203.0.113.230/32', plain]]));
  try {
    const ms = await established(speaker, name, 20_000);
    note(`${kind} multihop: Established in ${ms} ms`);
    const r = await routeAt(router, 'ipv4', '203.0.113.230/32');
    expect(r.asPath).toEqual([NODE_ASN]);
    // BIRD shows the next hop resolved through its IGP route (the hop); FRR and GoBGP the BGP next hop.
    expect(r.nextHops).toEqual([kind === 'bird' ? l.hopSide : HOP_NODE]);
    expect(router.sessionState(HOP_NODE)).toBe('established');
  } finally {
    speaker.setPeers(specs);
  }
}

/**
 * Aggregation end to end: a parsed Config (two Service IPs per family, aggregationLength 24 and
 * aggregationLengthV6 64, communities) -> bgpAnnouncementsFor -> our sessions -> the router's table.
 */
async function aggregates(kind: keyof typeof LINKS, router: RunningRouter, speaker: BgpSpeaker) {
  const l = LINKS[kind];
  const meta = (name: string) => ({ name, namespace: 'metallb-system' });
  const parsed = parseConfig({
    pools: [{ apiVersion: 'metallb.io/v1beta1', kind: 'IPAddressPool', metadata: meta('agg'), spec: { addresses: ['203.0.113.0/24', '2001:db8:ffff:1::/64'] } }],
    bgpAdvertisements: [
      { apiVersion: 'metallb.io/v1beta1', kind: 'BGPAdvertisement', metadata: meta('agg'), spec: { ipAddressPools: ['agg'], aggregationLength: 24, aggregationLengthV6: 64, communities: ['64513:300'] } },
    ],
    bgpPeers: [
      { apiVersion: 'metallb.io/v1beta2', kind: 'BGPPeer', metadata: meta('agg-v4'), spec: { myASN: NODE_ASN, peerASN: ROUTER_ASN, peerAddress: l.router } },
      { apiVersion: 'metallb.io/v1beta2', kind: 'BGPPeer', metadata: meta('agg-v6'), spec: { myASN: NODE_ASN, peerASN: ROUTER_ASN, peerAddress: l.router6 } },
    ],
    l2Advertisements: [], bfdProfiles: [], communities: [],
  });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  const svc = (name: string, ips: string[]) => ({ key: `default/${name}`, namespace: 'default', name, labels: {}, ingressIps: ips, externalTrafficPolicyLocal: false, sharesIp: false, endpoints: [{ nodeName: 'node-a', serving: true }] });
  const out = bgpAnnouncementsFor('node-a', {
    config: parsed.config,
    services: [svc('a', ['203.0.113.100', '2001:db8:ffff:1::a']), svc('b', ['203.0.113.101', '2001:db8:ffff:1::b'])],
    nodes: [{ name: 'node-a', labels: { 'kubernetes.io/hostname': 'node-a' }, networkUnavailable: false }],
    ignoreExcludeLabel: false,
  });
  // The peer's DesiredRib holds both families (the session sends those it negotiated): split it.
  const desired = [...(out.ribByPeer.get('agg-v4') ?? new Map<string, AdvertisedRoute>())];
  expect(desired.map(([p]) => p).sort()).toEqual(['2001:db8:ffff:1::/64', '203.0.113.0/24']);
  const rib4 = desired.filter(([p]) => !p.includes(':'));
  const rib6 = desired.filter(([p]) => p.includes(':'));
  speaker.setDesired(`${kind}-v4`, rib([[P4A, withCommunities], ...rib4]));
  speaker.setDesired(`${kind}-v6`, rib([[P6A, withCommunities], ...rib6]));
  const r4 = await routeAt(router, 'ipv4', '203.0.113.0/24');
  const r6 = await routeAt(router, 'ipv6', '2001:db8:ffff:1::/64');
  expect(r4).toMatchObject({ nextHops: [l.node], asPath: [NODE_ASN], communities: ['64513:300'] });
  expect(r6).toMatchObject({ asPath: [NODE_ASN], communities: ['64513:300'] });
  for (const single of ['203.0.113.100/32', '203.0.113.101/32']) expect(router.rib('ipv4').some((r) => r.prefix === single)).toBe(false);
  speaker.setDesired(`${kind}-v4`, rib([[P4A, withCommunities]]));
  speaker.setDesired(`${kind}-v6`, rib([[P6A, withCommunities]]));
  await routeGone(router, 'ipv4', '203.0.113.0/24');
}

/** The cases every daemon runs, in this order; `current` reads the describe's state when a test runs. */
function sessionTests(kind: RouterKind, current: () => { router: RunningRouter; speaker: BgpSpeaker; events: StateEvent[]; registry: Registry; specs: PeerSessionSpec[] }): void {
  test('eBGP IPv4 and IPv6: prefixes with next hop, AS path, communities; withdraw; metrics', async () => {
    const { router, speaker, registry } = current();
    await ebgpMatrix(kind, router, speaker, registry);
  });

  test('aggregate from bgpAnnouncementsFor (aggregationLength 24 / V6 64, two Service IPs each) with communities', async () => {
    const { router, speaker } = current();
    await aggregates(kind, router, speaker);
  });

  test('iBGP: LOCAL_PREF from the advertisement, empty AS path', async () => {
    const { router, speaker, specs } = current();
    await ibgpLocalPref(kind, router, speaker, specs);
  });

  test('TCP MD5: a wrong password never reaches Established; the right one does', async () => {
    const { router, speaker, events, specs } = current();
    await md5Session(kind, router, speaker, events, specs);
  });

  test('eBGP multihop through a routed hop (TTL 255)', async () => {
    const { router, speaker, specs } = current();
    await multihopSession(kind, router, speaker, specs);
  });
}

describe.each(['bird', 'frr'] as const)('BgpSpeaker against %s', (kind) => {
  let router: RunningRouter;
  let speaker: BgpSpeaker;
  let events: StateEvent[];
  let registry: Registry;
  let bfd: NamespacedBfd;
  let specs: PeerSessionSpec[];

  beforeAll(async () => {
    const l = LINKS[kind];
    const t0 = Date.now();
    router = await startRouter(kind, {
      ns: routerNs[kind]!,
      dir: join(dir, kind),
      asn: ROUTER_ASN,
      routerId: l.router,
      neighbors: [
        { address: l.node, asn: NODE_ASN, passive: true, gracefulRestart: true, bfd: true },
        { address: l.node6, asn: NODE_ASN, passive: true, gracefulRestart: true },
        ...extraNeighbors(kind),
      ],
    });
    cleanups.push(() => router.stop());
    note(`${kind} started in ${Date.now() - t0} ms`);
    bfd = new NamespacedBfd(nodeNs);
    cleanups.push(() => bfd.close());
    ({ speaker, events, registry } = newSpeaker(kind, bfd));
    cleanups.push(() => speaker.stop());
    specs = [spec(`${kind}-v4`, l.router, { gracefulRestart: true }), spec(`${kind}-v6`, l.router6, { gracefulRestart: true })];
    speaker.setPeers(specs);
  });

  sessionTests(kind, () => ({ router, speaker, events, registry, specs }));

  test('graceful restart: stop({graceful}) and a new speaker; the route stays in the router table throughout', async () => {
    const next = await gracefulRestart(kind, router, speaker, specs, bfd);
    speaker = next.speaker;
    events = next.events;
    cleanups.push(() => next.speaker.stop());
  });

  test('BFD: the router freezes, our session goes down well under the hold time', async () => {
    specs = await bfdDetects(kind, router, speaker, events, specs);
  });

  test('control for graceful restart: stop() without graceful sends Cease and the router drops our route at once', async () => {
    await established(speaker, `${kind}-v4`, 20_000); // back after the freeze
    await routeAt(router, 'ipv4', P4A);
    const t0 = Date.now();
    await speaker.stop();
    const ms = await routeGone(router, 'ipv4', P4A, 5000);
    note(`${kind}: non-graceful stop -> route gone from the router table after ${Date.now() - t0} ms (poll ${ms} ms)`);
  });
});

describe('BgpSpeaker against gobgp', () => {
  const kind = 'gobgp' as const;
  const l = LINKS.gobgp;
  let router: RunningRouter;
  let speaker: BgpSpeaker;
  let events: StateEvent[];
  let registry: Registry;
  let specs: PeerSessionSpec[];

  beforeAll(async () => {
    const t0 = Date.now();
    router = await startRouter(kind, {
      ns: routerNs.gobgp!,
      dir: join(dir, kind),
      asn: ROUTER_ASN,
      routerId: l.router,
      neighbors: [
        { address: l.node, asn: NODE_ASN, passive: true },
        { address: l.node6, asn: NODE_ASN, passive: true },
        ...extraNeighbors(kind),
      ],
    });
    cleanups.push(() => router.stop());
    note(`gobgp started in ${Date.now() - t0} ms`);
    ({ speaker, events, registry } = newSpeaker(kind));
    cleanups.push(() => speaker.stop());
    specs = [spec('gobgp-v4', l.router), spec('gobgp-v6', l.router6)];
    speaker.setPeers(specs);
  });

  sessionTests(kind, () => ({ router, speaker, events, registry, specs }));

  test('a raw TCP peer sending a malformed OPEN, then a malformed UPDATE, gets the right NOTIFICATIONs; the GoBGP session stays up', async () => {
    const before = stateOf(speaker, 'gobgp-v4');
    const eventsBefore = events.length;
    expect(before.state).toBe('Established');
    const notifications: { conn: number; code: number; subcode: number; data: string }[] = [];
    let conns = 0;
    const open = (version: number): Uint8Array => {
      const b = encodeMessage({
        type: 'open',
        version: 4,
        myAs: RAW_ASN,
        holdTime: 90,
        bgpId: RAW_PEER,
        capabilities: [{ kind: 'multiprotocol', afi: Afi.Ipv4, safi: Safi.Unicast }, { kind: 'fourOctetAs', asn: RAW_ASN }],
      });
      b[19] = version;
      return b;
    };
    const keepalive = encodeMessage({ type: 'keepalive' });
    // UPDATE: Withdrawn Routes Length 0, Total Path Attribute Length 100 with no attributes behind it.
    const badUpdate = Buffer.from('ff'.repeat(16) + '0017' + '02' + '0000' + '0064', 'hex');
    const listener = await listenBgp({
      netns: rawNs,
      address: RAW_PEER,
      onConnection: (sock: Socket) => {
        const n = ++conns;
        const framer = new MessageFramer();
        sock.on('error', () => {});
        sock.on('data', (chunk: Buffer) => {
          for (const f of framer.push(chunk).frames) {
            const type = f[18];
            if (type === 1) sock.write(n === 1 ? open(3) : open(4)); // first connection: BGP version 3
            if (type === 1 && n > 1) sock.write(keepalive);
            if (type === 4 && n > 1) sock.write(badUpdate);
            if (type === 3) notifications.push({ conn: n, code: f[19]!, subcode: f[20]!, data: Buffer.from(f.subarray(21)).toString('hex') });
          }
        });
      },
    });
    cleanups.push(() => listener.close());
    try {
      specs = [...specs, spec('raw', RAW_PEER, { peerAsn: RAW_ASN, families: ['ipv4'] })];
      speaker.setPeers(specs);
      speaker.setDesired('raw', rib([['203.0.113.240/32', plain]]));
      await until('two NOTIFICATIONs from our speaker', () => notifications.length >= 2, 15_000, () => JSON.stringify({ notifications, conns, status: speaker.status() }));
      // OPEN Message Error / Unsupported Version Number, data = the version we support (4).
      expect(notifications[0]).toEqual({ conn: 1, code: 2, subcode: 1, data: '0004' });
      // UPDATE Message Error / Malformed Attribute List.
      expect(notifications[1]).toMatchObject({ conn: 2, code: 3, subcode: 1 });
      const raw = events.filter((e) => e.peer === 'raw');
      expect(raw.some((e) => e.state === 'Established')).toBe(true);
      expect(stateOf(speaker, 'raw').lastError).toMatch(/UPDATE Message Error/);
    } finally {
      specs = specs.filter((s) => s.name !== 'raw');
      speaker.setPeers(specs);
      await listener.close();
    }
    const after = stateOf(speaker, 'gobgp-v4');
    expect(after.state).toBe('Established');
    expect(after.establishedSince).toEqual(before.establishedSince);
    expect(router.sessionState(l.node)).toBe('established');
    expect(events.slice(eventsBefore).filter((e) => e.peer === 'gobgp-v4')).toEqual([]);
  });
});
