// BgpSpeaker's pure parts (router ID derivation, spec diffing and validation, metrics label) and the
// manager driven over an in-memory socket pair instead of TCP (dial injected).
import { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import pino from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, test } from 'vitest';
import { BgpMetrics, BgpSpeaker, peerSpecKey, planPeerChanges, validatePeerSpecs, type PeerSessionSpec } from '../../src/speaker/bgp/bgpSpeaker.js';
import { peerLabel } from '../../src/speaker/bgp/metrics.js';
import { afiSafisOf, deriveRouterId, routerIdFromNodeName } from '../../src/speaker/bgp/peerSession.js';
import { decodeMessage, encodeMessage, MessageFramer, type BgpMessage } from '../../src/speaker/bgp/codec/messages.js';
import type { ConnectBgpOptions } from '../../src/speaker/bgp/transport.js';

const base: PeerSessionSpec = { name: 'p1', peerAddress: '192.0.2.1', peerPort: 179, peerAsn: 64512, localAsn: 64513, holdTime: 90, ebgpMultiHop: false, gracefulRestart: false };

describe('router ID', () => {
  test('configured wins, else the local IPv4 of the connection, else CRC32 of the node name', () => {
    expect(deriveRouterId({ routerId: '10.0.0.1' }, '192.0.2.7', 'n')).toBe('10.0.0.1');
    expect(deriveRouterId({}, '192.0.2.7', 'n')).toBe('192.0.2.7');
    expect(deriveRouterId({}, '::ffff:192.0.2.7', 'n')).toBe('192.0.2.7');
    expect(deriveRouterId({}, '2001:db8::7', 'node-a')).toBe(routerIdFromNodeName('node-a'));
    expect(deriveRouterId({}, undefined, 'node-a')).toBe(routerIdFromNodeName('node-a'));
  });

  test('CRC32 of the node name as a big-endian dotted quad', () => {
    // zlib CRC-32 of "123456789" is the standard check value 0xCBF43926.
    expect(routerIdFromNodeName('123456789')).toBe('203.244.57.38');
    expect(routerIdFromNodeName('node-a')).not.toBe(routerIdFromNodeName('node-b'));
  });
});

describe('spec diffing', () => {
  test('add, replace on any change, keep, remove', () => {
    const current = new Map<string, PeerSessionSpec>([
      ['keep', { ...base, name: 'keep' }],
      ['pw', { ...base, name: 'pw', password: 'a' }],
      ['gone', { ...base, name: 'gone' }],
    ]);
    const plan = planPeerChanges(current, [{ ...base, name: 'keep' }, { ...base, name: 'pw', password: 'b' }, { ...base, name: 'new' }]);
    expect(plan.keep).toEqual(['keep']);
    expect(plan.replace.map((s) => s.name)).toEqual(['pw']);
    expect(plan.add.map((s) => s.name)).toEqual(['new']);
    expect(plan.remove).toEqual(['gone']);
  });

  test('the key ignores spelling that does not change the session', () => {
    expect(peerSpecKey({ ...base, peerAddress: '2001:DB8::1' })).toBe(peerSpecKey({ ...base, peerAddress: '2001:db8:0::1' }));
    expect(peerSpecKey({ ...base, families: ['ipv6', 'ipv4'] })).toBe(peerSpecKey(base));
    expect(peerSpecKey({ ...base, holdTime: 30 })).not.toBe(peerSpecKey(base));
    const bfd = { name: 'b', receiveInterval: 300, transmitInterval: 300, detectMultiplier: 3, echoInterval: 50, echoMode: false, passiveMode: false, minimumTtl: 254 };
    expect(peerSpecKey({ ...base, bfd })).not.toBe(peerSpecKey({ ...base, bfd: { ...bfd, detectMultiplier: 5 } }));
  });

  test('families default to IPv4 + IPv6 unicast', () => {
    expect(afiSafisOf(undefined)).toEqual([{ afi: 1, safi: 1 }, { afi: 2, safi: 1 }]);
    expect(afiSafisOf(['ipv6'])).toEqual([{ afi: 2, safi: 1 }]);
  });

  test('validation names the session and the field', () => {
    expect(validatePeerSpecs([base])).toEqual([]);
    const errs = validatePeerSpecs([
      { ...base, name: 'a', peerAddress: 'x' },
      { ...base, name: 'b', sourceAddress: '2001:db8::1' },
      { ...base, name: 'c', holdTime: 2 },
      { ...base, name: 'd', peerAsn: 64513, ebgpMultiHop: true },
      { ...base, name: 'd' },
      { ...base, name: 'e', routerId: '2001:db8::1' },
    ]);
    expect(errs).toEqual([
      expect.stringMatching(/"a": peerAddress "x"/),
      expect.stringMatching(/"b": sourceAddress/),
      expect.stringMatching(/"c": holdTime 2/),
      expect.stringMatching(/"d": ebgpMultiHop .* iBGP/),
      expect.stringMatching(/"d": name used twice/),
      expect.stringMatching(/"e": routerId/),
    ]);
    const s = new BgpSpeaker({ nodeName: 'n', log: pino({ level: 'silent' }) });
    expect(() => s.setPeers([{ ...base, holdTime: 1 }])).toThrow(/holdTime 1/);
    expect(s.status()).toEqual([]);
  });

  test('metrics label is host:port, IPv6 in brackets', () => {
    expect(peerLabel('192.0.2.1', 179)).toBe('192.0.2.1:179');
    expect(peerLabel('2001:db8::1', 1179)).toBe('[2001:db8::1]:1179');
  });
});

/** A fake peer on the other end of an in-memory duplex: records our messages, lets the test reply. */
function fakePeer() {
  const received: BgpMessage[] = [];
  const framer = new MessageFramer();
  let ours!: Duplex;
  const theirs = new Duplex({
    read() {},
    write(chunk: Buffer, _enc, cb) {
      for (const f of framer.push(chunk).frames) {
        const r = decodeMessage(f);
        if (r.ok) received.push(r.message);
      }
      cb();
    },
  });
  ours = new Duplex({
    read() {},
    write(chunk: Buffer, _enc, cb) {
      theirs.write(chunk);
      cb();
    },
    final(cb) {
      cb();
      ours.destroy();
    },
  });
  Object.assign(ours, { localAddress: '192.0.2.9', remoteAddress: '192.0.2.1' });
  return {
    socket: ours as unknown as Socket,
    received,
    send: (m: BgpMessage) => ours.push(Buffer.from(encodeMessage(m))),
    close: () => ours.destroy(),
  };
}

const tick = () => new Promise((r) => setTimeout(r, 5));

describe('BgpSpeaker over an in-memory connection', () => {
  test('OPEN with the derived router ID, UPDATEs with our NEXT_HOP after Established, withdraw, metrics, NOTIFICATION on a bad message', async () => {
    const peers: ReturnType<typeof fakePeer>[] = [];
    const dials: ConnectBgpOptions[] = [];
    const registry = new Registry();
    const states: string[] = [];
    const speaker = new BgpSpeaker({
      nodeName: 'n',
      log: pino({ level: 'silent' }),
      metrics: new BgpMetrics(registry),
      onStateChange: (_p, s) => states.push(s),
      dial: async (o) => {
        dials.push(o);
        const p = fakePeer();
        peers.push(p);
        return p.socket;
      },
    });
    speaker.setDesired('p1', new Map([['203.0.113.5/32', { communities: [] }]]));
    speaker.setPeers([{ ...base, password: 'k' }]);
    await tick();
    expect(dials[0]).toMatchObject({ peerAddress: '192.0.2.1', peerPort: 179, md5Password: 'k', ttl: 1, timeoutMs: 10_000 });
    const peer = peers[0]!;
    const open = peer.received[0];
    expect(open).toMatchObject({ type: 'open', myAs: 64513, holdTime: 90, bgpId: '192.0.2.9' });
    peer.send({ type: 'open', version: 4, myAs: 64512, holdTime: 9, bgpId: '192.0.2.1', capabilities: [{ kind: 'multiprotocol', afi: 1, safi: 1 }, { kind: 'fourOctetAs', asn: 64512 }] });
    peer.send({ type: 'keepalive' });
    await tick();
    expect(speaker.status()[0]).toMatchObject({ state: 'Established', prefixesSent: 1, prefixesPending: 0 });
    const update = peer.received.find((m) => m.type === 'update' && m.nlri.length > 0);
    expect(update).toMatchObject({ nlri: ['203.0.113.5/32'], attributes: { nextHop: '192.0.2.9', asPath: [{ type: 2, asns: [64513] }] } });
    speaker.setDesired('p1', new Map());
    await tick();
    expect(peer.received.at(-1)).toMatchObject({ type: 'update', withdrawn: ['203.0.113.5/32'] });
    const metrics = await registry.metrics();
    expect(metrics).toContain('metallb_bgp_session_up{peer="192.0.2.1:179"} 1');
    expect(metrics).toContain('metallb_bgp_announced_prefixes_total{peer="192.0.2.1:179"} 0');
    // A KEEPALIVE of the wrong length: Message Header Error / Bad Message Length, session down.
    peer.socket.push(Buffer.from('ff'.repeat(16) + '001404' + '00', 'hex'));
    await tick();
    expect(peer.received.at(-1)).toMatchObject({ type: 'notification', code: 1, subcode: 2 });
    expect(states).toContain('Idle');
    expect(speaker.status()[0]?.lastError).toMatch(/Bad Message Length/);
    await speaker.stop();
    expect(await registry.metrics()).toContain('metallb_bgp_session_up{peer="192.0.2.1:179"} 0');
  });

  test('stop({graceful}) closes without a NOTIFICATION; stop() sends Cease / Administrative Shutdown', async () => {
    for (const graceful of [true, false]) {
      const peers: ReturnType<typeof fakePeer>[] = [];
      const speaker = new BgpSpeaker({ nodeName: 'n', log: pino({ level: 'silent' }), dial: async () => (peers.push(fakePeer()), peers.at(-1)!.socket) });
      speaker.setPeers([{ ...base, gracefulRestart: true }]);
      await tick();
      const peer = peers[0]!;
      expect(peer.received[0]).toMatchObject({ type: 'open', capabilities: expect.arrayContaining([expect.objectContaining({ kind: 'gracefulRestart', restarting: true })]) });
      peer.send({ type: 'open', version: 4, myAs: 64512, holdTime: 9, bgpId: '192.0.2.1', capabilities: [{ kind: 'gracefulRestart', restarting: false, notification: false, restartTime: 120, families: [] }] });
      peer.send({ type: 'keepalive' });
      await tick();
      expect(speaker.status()[0]?.state).toBe('Established');
      await speaker.stop({ graceful });
      const notifications = peer.received.filter((m) => m.type === 'notification');
      expect(notifications).toEqual(graceful ? [] : [expect.objectContaining({ code: 6, subcode: 2 })]);
    }
  });
});
