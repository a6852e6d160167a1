// GossipMembership on real loopback sockets: join, a graceful leave, seed parsing.
import { afterEach, describe, expect, it } from 'vitest';
import { GossipMembership, parseSeeds } from '../../src/speaker/membership/gossipMembership.js';

const KEY = Buffer.from('adapter-test-key-0123456789');
const BASE = 20_000 + (process.pid % 20_000);
const open: GossipMembership[] = [];

afterEach(() => {
  for (const m of open.splice(0)) m.close();
});

async function until(fn: () => boolean, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('GossipMembership over UDP', () => {
  it('two members on loopback join, and one leaving is dropped at once', async () => {
    const seeds = [`127.0.0.1:${BASE}`, `127.0.0.1:${BASE + 1}`];
    const a = await GossipMembership.start({ nodeName: 'a', bindAddress: '127.0.0.1', port: BASE, key: KEY, seeds });
    open.push(a);
    const b = await GossipMembership.start({ nodeName: 'b', bindAddress: '127.0.0.1', port: BASE + 1, key: KEY, seeds });
    open.push(b);
    await Promise.all([a.ready(), b.ready()]);
    await until(() => a.aliveNodes().has('b') && b.aliveNodes().has('a'));
    const events: string[] = [];
    a.onChange((e) => e.kind === 'member' && events.push(`${e.name}:${e.to}`));
    const t0 = Date.now();
    await b.leave();
    await until(() => !a.aliveNodes().has('b'), 1_000);
    expect(Date.now() - t0).toBeLessThan(500);
    expect(events).toEqual(['b:left']);
    expect(a.stats.dropped.badMac + a.stats.dropped.malformed).toBe(0);
  });

  it('refuses to start without a usable key or address', async () => {
    await expect(GossipMembership.start({ nodeName: 'a', bindAddress: '127.0.0.1', port: BASE + 2, key: Buffer.alloc(4) })).rejects.toThrow(/at least 16 bytes/);
    await expect(GossipMembership.start({ nodeName: 'a', bindAddress: 'node-a', key: KEY })).rejects.toThrow(/InternalIP/);
    await expect(GossipMembership.start({ nodeName: 'a', bindAddress: '0.0.0.0', port: BASE + 3, key: KEY })).rejects.toThrow(/advertiseAddress/);
    const first = await GossipMembership.start({ nodeName: 'a', bindAddress: '127.0.0.1', port: BASE + 4, key: KEY });
    open.push(first);
    await expect(GossipMembership.start({ nodeName: 'b', bindAddress: '127.0.0.1', port: BASE + 4, key: KEY })).rejects.toThrow(/cannot bind UDP 127.0.0.1 port/);
  });
});

describe('parseSeeds', () => {
  it('accepts ip, ip:port and [v6]:port, naming a bad entry', () => {
    expect(parseSeeds(['192.0.2.1', '192.0.2.2:8000', '2001:db8::1', '[2001:db8::2]:9000'], 7946)).toEqual([
      { address: '192.0.2.1', port: 7946 },
      { address: '192.0.2.2', port: 8000 },
      { address: '2001:db8::1', port: 7946 },
      { address: '2001:db8::2', port: 9000 },
    ]);
    expect(() => parseSeeds(['node-a:7946'], 7946)).toThrow(/seed "node-a:7946"/);
    expect(() => parseSeeds(['192.0.2.1:0'], 7946)).toThrow(/seed/);
  });
});
