// Records a real GoBGP's OPEN and UPDATEs into bgp.gobgp-capture.json (read by bgp.golden.test.ts).
// Skipped unless IRONLB_BGP_CAPTURE names the output; run inside the namespace where gobgpd dials 127.0.0.1:17900:
//   ns=ironlb-bgpc-$$; ip netns add $ns; ip netns exec $ns ip link set lo up
//   ip netns exec $ns gobgpd -f gobgpd.toml --api-hosts=127.0.0.1:50051 --pprof-disable &   (config: see docs/bgp.md)
//   ip netns exec $ns env IRONLB_BGP_CAPTURE=test/unit/bgp.gobgp-capture.json npx vitest run --project unit test/unit/bgp.capture.test.ts
import { writeFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { BgpSession, MessageFramer, type SessionAction } from '../../src/speaker/bgp/index.js';

const out = process.env.IRONLB_BGP_CAPTURE;

describe.skipIf(!out)('capture from a real daemon', () => {
  it('records OPEN and UPDATE bytes from gobgpd', async () => {
    const frames: string[] = [];
    const session = new BgpSession({
      localAs: 64512,
      peerAs: 64513,
      routerId: '10.0.0.1',
      holdTime: 90,
      connectRetryTime: 120,
      passive: true,
      families: [
        { afi: 1, safi: 1 },
        { afi: 2, safi: 1 },
      ],
      gracefulRestart: { restartTime: 120, restarting: false, forwardingPreserved: true },
    });
    session.handle({ type: 'ManualStart' });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no UPDATE from gobgpd within 60 s')), 60_000);
      const server = createServer((sock: Socket) => {
        const framer = new MessageFramer();
        const run = (actions: SessionAction[]) => {
          for (const a of actions) if (a.type === 'Send') sock.write(a.bytes);
        };
        run(session.handle({ type: 'TcpConnected', conn: 1, direction: 'inbound' }));
        sock.on('data', (chunk: Buffer) => {
          const bytes = new Uint8Array(chunk);
          for (const f of framer.push(bytes).frames) frames.push(Buffer.from(f).toString('hex'));
          run(session.handle({ type: 'BytesReceived', conn: 1, bytes }));
          // OPEN, KEEPALIVE, UPDATE(s) and both End-of-RIBs: enough.
          if (frames.filter((f) => f.slice(36, 38) === '02').length >= 4) {
            clearTimeout(timer);
            sock.destroy();
            server.close();
            resolve();
          }
        });
      });
      server.listen(17900, '127.0.0.1');
    });
    expect(frames[0]?.slice(36, 38)).toBe('01');
    writeFileSync(out!, JSON.stringify({ daemon: 'gobgpd 3.10.0 (Debian)', frames }, null, 2) + '\n');
  }, 70_000);
});
