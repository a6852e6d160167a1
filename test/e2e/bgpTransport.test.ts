// The BGP transport against real routers (root): TCP MD5 towards BIRD 2, FRR and GoBGP (the
// right key connects, a wrong key is never answered), a hard-coded minimal OPEN + KEEPALIVE
// brings each daemon's session to Established (seen in its own CLI), and the TTL option decides
// whether a peer two hops away is reachable. Our sockets live in the node namespace (the tcpsock
// addon opens them there); the daemons run in the router namespace.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { BgpConnectError, connectBgp, listenBgp } from '../../src/speaker/bgp/transport.js';
import { MessageFramer } from '../../src/speaker/bgp/codec/messages.js';
import { getTtl, socketFd } from '../../src/net/tcpOptions.js';
import { addNamespace, enableForwarding, inNs, kernelRoutes, link, removeTestNamespaces, startRouter, ROUTER_KINDS, type RunningRouter } from './routers/index.js';

const ROUTER_ASN = 64512;
const NODE_ASN = 64513;
const MD5 = 'ironlb-md5-test-key';
const NODE_IP = '192.0.2.2';
const ROUTER_IP = '192.0.2.1';
const FAR_NODE_IP = '198.51.100.2'; // the node's second leg, two hops from the router
const FAR_ROUTER_IP = '203.0.113.2';
const NODE_IP6 = '2001:db8:b9::2';
const ROUTER_IP6 = '2001:db8:b9::1';
const ANNOUNCED = '203.0.113.200/32'; // outside every link subnet

// Minimal OPEN (test fixture, not a codec): version 4, AS 64513, hold 90, BGP ID 192.0.2.2,
// capabilities multiprotocol IPv4 unicast and 4-octet AS 64513.
const OPEN = Buffer.from('ff'.repeat(16) + '002b01' + '04' + 'fc01' + '005a' + 'c0000202' + '0e' + '020c' + '010400010001' + '41040000fc01', 'hex');
const KEEPALIVE = Buffer.from('ff'.repeat(16) + '001304', 'hex');

const root = process.getuid?.() === 0;
// Network namespaces need root: a missing prerequisite fails with the fix, never a silent skip.
beforeAll(() => {
  if (!root) throw new Error('these tests create network namespaces and must run as root (sudo npm test)');
});
let parent = '';
let nodeNs = '';
let routerNs = '';

beforeAll(() => {
  if (!root) return;
  parent = mkdtempSync(join(tmpdir(), 'ironlb-bgpt-'));
  nodeNs = addNamespace('node');
  routerNs = addNamespace('rt');
  const hopNs = addNamespace('hop');
  link({ ns: nodeNs, ifname: 'eth0', addresses: [`${NODE_IP}/24`, `${NODE_IP6}/64`] }, { ns: routerNs, ifname: 'eth0', addresses: [`${ROUTER_IP}/24`, `${ROUTER_IP6}/64`] });
  // node -- hop -- router: a second path where the router is two IP hops away.
  link({ ns: nodeNs, ifname: 'eth1', addresses: [`${FAR_NODE_IP}/24`] }, { ns: hopNs, ifname: 'eth0', addresses: ['198.51.100.1/24'] });
  link({ ns: hopNs, ifname: 'eth1', addresses: ['203.0.113.1/25'] }, { ns: routerNs, ifname: 'eth1', addresses: [`${FAR_ROUTER_IP}/25`] });
  enableForwarding(hopNs);
  inNs(nodeNs, 'ip', ['route', 'add', '203.0.113.0/25', 'via', '198.51.100.1']);
  inNs(routerNs, 'ip', ['route', 'add', '198.51.100.0/24', 'via', '203.0.113.1']);
});

afterAll(async () => {
  if (!root) return;
  await removeTestNamespaces();
  if (parent) rmSync(parent, { recursive: true, force: true });
});

/** Collects framed messages from a socket (the codec's framer; a framing error is kept as `error`). */
function reader(sock: Socket): { frames: Uint8Array[]; next(type: number, timeoutMs: number): Promise<Buffer> } {
  const framer = new MessageFramer();
  const frames: Uint8Array[] = [];
  let error: string | undefined;
  const waiters: (() => void)[] = [];
  sock.on('data', (chunk: Buffer) => {
    const r = framer.push(chunk);
    frames.push(...r.frames);
    if (r.error) error ??= r.error.reason;
    for (const w of waiters.splice(0)) w();
  });
  return {
    frames,
    async next(type, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const i = frames.findIndex((f) => f[18] === type);
        if (i >= 0) return Buffer.from(frames.splice(i, 1)[0]!);
        const notification = frames.find((f) => f[18] === 3);
        if (error || notification) throw new Error(`peer sent ${error ? 'a framing error ' + error : 'NOTIFICATION ' + Buffer.from(notification!.subarray(19)).toString('hex')}`);
        if (Date.now() > deadline) throw new Error(`no BGP message of type ${type} within ${timeoutMs} ms (got ${frames.length} other frames)`);
        await new Promise<void>((r) => {
          waiters.push(r);
          setTimeout(r, 100);
        });
      }
    },
  };
}

async function waitState(router: RunningRouter, neighbor: string, want: string, timeoutMs: number): Promise<number> {
  const t0 = Date.now();
  let last = '';
  while (Date.now() - t0 < timeoutMs) {
    last = router.sessionState(neighbor);
    if (last === want) return Date.now() - t0;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${router.kind}: session to ${neighbor} is "${last}", not "${want}", after ${timeoutMs} ms; log:\n${router.logText()}`);
}

describe.each(ROUTER_KINDS)('BGP transport against %s', (kind) => {
  let router: RunningRouter;

  beforeAll(async () => {
    const t0 = Date.now();
    router = await startRouter(kind, {
      ns: routerNs,
      dir: join(parent, kind),
      asn: ROUTER_ASN,
      routerId: ROUTER_IP,
      neighbors: [
        { address: NODE_IP, asn: NODE_ASN, passive: true, md5Password: MD5 },
        { address: FAR_NODE_IP, asn: NODE_ASN, passive: true, multihop: 255 },
        { address: NODE_IP6, asn: NODE_ASN, passive: true, md5Password: MD5 },
      ],
    });
    process.stderr.write(`[bgpTransport] ${kind} started in ${Date.now() - t0} ms\n`);
  });

  afterAll(async () => {
    await router?.stop();
    expect(router?.pids() ?? []).toEqual([]);
  });

  test('a wrong TCP MD5 key, or none, is never answered: the connection times out', async () => {
    for (const md5Password of ['not-the-key', undefined]) {
      const err = await connectBgp({ netns: nodeNs, peerAddress: ROUTER_IP, sourceAddress: NODE_IP, ...(md5Password ? { md5Password } : {}), ttl: 1, timeoutMs: 1500 }).then(
        (s) => {
          s.destroy();
          return undefined;
        },
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(BgpConnectError);
      expect((err as BgpConnectError).code).toBe('ETIMEDOUT');
    }
  });

  test('the right MD5 key connects, TTL 1 is on the socket, and OPEN + KEEPALIVE reach Established', async () => {
    const t0 = Date.now();
    const sock = await connectBgp({ netns: nodeNs, peerAddress: ROUTER_IP, sourceAddress: NODE_IP, md5Password: MD5, ttl: 1, timeoutMs: 5000 });
    const connectMs = Date.now() - t0;
    const keepalives = setInterval(() => sock.write(KEEPALIVE), 2000);
    try {
      expect(sock.remoteAddress).toBe(ROUTER_IP);
      expect(sock.localAddress).toBe(NODE_IP);
      expect(getTtl(socketFd(sock))).toBe(1);
      const rx = reader(sock);
      sock.write(OPEN);
      const open = await rx.next(1, 10_000);
      expect(open.readUInt16BE(19 + 1)).toBe(ROUTER_ASN); // their My Autonomous System
      sock.write(KEEPALIVE);
      await rx.next(4, 10_000);
      const establishedMs = await waitState(router, NODE_IP, 'established', 10_000);
      process.stderr.write(`[bgpTransport] ${kind}: MD5 connect ${connectMs} ms, Established in CLI ${Date.now() - t0} ms (poll ${establishedMs} ms)\n`);
    } finally {
      clearInterval(keepalives);
      sock.destroy();
    }
  });

  test('IPv6: the right MD5 key connects (hop limit 1 applied), a wrong one times out', async () => {
    const wrong = await connectBgp({ netns: nodeNs, peerAddress: ROUTER_IP6, sourceAddress: NODE_IP6, md5Password: 'nope', timeoutMs: 1500 }).then(
      (s) => (s.destroy(), undefined),
      (e: unknown) => e,
    );
    expect((wrong as BgpConnectError).code).toBe('ETIMEDOUT');
    const sock = await connectBgp({ netns: nodeNs, peerAddress: ROUTER_IP6, sourceAddress: NODE_IP6, md5Password: MD5, ttl: 1, timeoutMs: 5000 });
    expect(sock.remoteAddress).toBe(ROUTER_IP6);
    expect(getTtl(socketFd(sock))).toBe(1);
    sock.destroy();
  });

  test('TTL decides reachability of a peer two hops away: TTL 1 fails, TTL 255 connects', async () => {
    const near = await connectBgp({ netns: nodeNs, peerAddress: FAR_ROUTER_IP, sourceAddress: FAR_NODE_IP, ttl: 1, timeoutMs: 1500 }).then(
      (s) => {
        s.destroy();
        return undefined;
      },
      (e: unknown) => e,
    );
    expect(near).toBeInstanceOf(BgpConnectError);
    const sock = await connectBgp({ netns: nodeNs, peerAddress: FAR_ROUTER_IP, sourceAddress: FAR_NODE_IP, ttl: 255, timeoutMs: 5000 });
    expect(getTtl(socketFd(sock))).toBe(255);
    expect(sock.remoteAddress).toBe(FAR_ROUTER_IP);
    sock.destroy();
  });

  test('the harness reads the router table: a GoBGP node (MD5) announces a route with communities', async () => {
    const node = await startRouter('gobgp', {
      ns: nodeNs,
      dir: join(parent, `${kind}-node`),
      asn: NODE_ASN,
      routerId: NODE_IP,
      localAddress: NODE_IP,
      neighbors: [{ address: ROUTER_IP, asn: ROUTER_ASN, md5Password: MD5 }],
    });
    try {
      await waitState(node, ROUTER_IP, 'established', 20_000);
      node.announce({ prefix: ANNOUNCED, nextHop: NODE_IP, communities: ['64513:100', '65000:7'], largeCommunities: ['64513:1:2'] });
      let route;
      for (let i = 0; i < 100 && !route; i++) {
        route = router.rib('ipv4').find((r) => r.prefix === ANNOUNCED);
        if (!route) await new Promise((r) => setTimeout(r, 100));
      }
      expect(route, `${kind} table: ${JSON.stringify(router.rib('ipv4'))}`).toMatchObject({
        prefix: ANNOUNCED,
        nextHops: [NODE_IP],
        asPath: [NODE_ASN],
        communities: ['64513:100', '65000:7'],
        largeCommunities: ['64513:1:2'],
      });
      if (kind !== 'gobgp') {
        // BIRD's kernel protocol / FRR's zebra install the route; GoBGP has no FIB of its own.
        let k;
        for (let i = 0; i < 50 && !k; i++) {
          k = kernelRoutes(routerNs).find((r) => r.prefix === ANNOUNCED);
          if (!k) await new Promise((r) => setTimeout(r, 100));
        }
        expect(k?.nextHops).toEqual([NODE_IP]);
      }
    } finally {
      await node.stop();
    }
  });
});

describe('listenBgp in a namespace with a per-peer MD5 key', () => {
  test('a signed connection from the keyed peer is accepted; an unsigned one from it is not', async () => {
    const accepted: string[] = [];
    const listener = await listenBgp({
      netns: routerNs,
      address: ROUTER_IP,
      port: 1179,
      md5Passwords: new Map([[NODE_IP, MD5]]),
      onConnection: (s, peer) => {
        accepted.push(peer);
        s.destroy();
      },
    });
    try {
      const unsigned = await connectBgp({ netns: nodeNs, peerAddress: ROUTER_IP, peerPort: 1179, sourceAddress: NODE_IP, timeoutMs: 1000 }).then(
        (s) => (s.destroy(), undefined),
        (e: unknown) => e,
      );
      expect((unsigned as BgpConnectError).code).toBe('ETIMEDOUT');
      const signed = await connectBgp({ netns: nodeNs, peerAddress: ROUTER_IP, peerPort: 1179, sourceAddress: NODE_IP, md5Password: MD5, timeoutMs: 3000 });
      signed.destroy();
      for (let i = 0; i < 20 && accepted.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
      expect(accepted).toEqual([NODE_IP]);
    } finally {
      await listener.close();
    }
  });
});


describe('tcpOptions errors (no root needed)', () => {
  test('errno text and argument checks', async () => {
    const { createTcpSocket, closeFd, setMd5Sig, setTtl, setMinTtl, getMinTtl } = await import('../../src/net/tcpOptions.js');
    expect(() => setTtl(987654, 5)).toThrow(/EBADF/);
    const fd = createTcpSocket(4);
    try {
      expect(() => setMd5Sig(fd, '2001:db8::1', 'k')).toThrow(/IPv6 but fd \d+ is an IPv4 socket/);
      expect(() => setMd5Sig(fd, 'not-an-ip', 'k')).toThrow(/not an IP address/);
      expect(() => setMd5Sig(fd, '192.0.2.9', 'x'.repeat(81))).toThrow(/at most 80/);
      expect(() => setTtl(fd, 0)).toThrow(/1\.\.255/);
      setMd5Sig(fd, '192.0.2.9', 'k');
      setMd5Sig(fd, '192.0.2.9', ''); // removes it
      setMd5Sig(fd, '192.0.2.9', ''); // removing a missing key is not an error
      setMinTtl(fd, 254);
      expect(getMinTtl(fd)).toBe(254);
    } finally {
      closeFd(fd);
    }
    const fd6 = createTcpSocket(6);
    try {
      setMd5Sig(fd6, '192.0.2.9', 'k'); // dual-stack: keyed as ::ffff:192.0.2.9
      setMd5Sig(fd6, '2001:db8::9', 'k', 64);
    } finally {
      closeFd(fd6);
    }
  });
});
