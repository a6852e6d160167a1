// BFD interop over real UDP between network namespaces (root): our BfdManager (compiled, in
// test/e2e/fixtures/bfdNode.mjs) in namespace "a", BIRD 2 in "b" and FRR bfdd (as user frr, with
// zebra) in "c", each on its own veth. Sessions come Up, the TTL guard drops TTL-254 packets, and
// link loss is detected within detectMult x interval with "Control Detection Time Expired".
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../src/lab/projectRoot.js';
import { netnsNames, pidAlive, removeStaleNamespaces } from './netnsCleanup.js';

const PREFIX = `ironlb-bfd-${process.pid}`;
const NS = { ours: `${PREFIX}-a`, bird: `${PREFIX}-b`, frr: `${PREFIX}-c` };
const FIXTURE = join(projectRoot(), 'test', 'e2e', 'fixtures', 'bfdNode.mjs');
const COMPILED = join(projectRoot(), 'dist', 'src', 'speaker', 'bfd', 'bfdManager.js');
const A_BIRD = '192.0.2.1';
const BIRD = '192.0.2.2';
const A_FRR = '192.0.2.129';
const FRR = '192.0.2.130';
const A_BIRD6 = '2001:db8:bfd::1';
const BIRD6 = '2001:db8:bfd::2';
const INTERVAL_MS = 100;
const MULT = 3;
/** BIRD sends multihop BFD with the default TTL (64), so FRR's default minimumTtl 254 drops it. */
const BIRD_MULTIHOP_MIN_TTL = 64;
const DETECTION_MS = INTERVAL_MS * MULT;
/** Timer and scheduling latency on a busy 2-core machine. */
const MARGIN_MS = 250;

let dir = '';
let ours: ChildProcess | undefined;
const lines: Record<string, any>[] = [];
let stderr = '';

function run(cmd: string, args: string[], opts: { allowFail?: boolean } = {}): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0 && !opts.allowFail) throw new Error(`${cmd} ${args.join(' ')}: ${(r.stderr || r.error?.message || '').trim()}`);
  return r.stdout ?? '';
}
const ip = (args: string[]) => run('ip', args);

function killPidFile(file: string): void {
  if (!existsSync(file)) return;
  const pid = Number(readFileSync(file, 'utf8').trim());
  if (pid > 0 && pidAlive(pid)) process.kill(pid, 'SIGKILL');
}

async function until<T>(what: string, fn: () => T | undefined | false, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) {
      const events = lines.filter((l) => l.kind !== 'status').slice(-12).map((l) => JSON.stringify(l)).join('\n');
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; ours stderr: ${stderr.trim()}\nlast status: ${JSON.stringify(lines.at(-1))}\nlast events:\n${events}`);
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}
const sessionOf = (peer: string, multihop = false) => ([...lines].reverse().find((l) => l.kind === 'status')?.status as any[] | undefined)?.find((s) => s.peer === peer && s.multihop === multihop);
const stateEvents = (peer: string, from = 0, multihop = false) => lines.slice(from).filter((l) => l.kind === 'state' && l.peer === peer && l.multihop === multihop);

function veth(nsName: string, ifname: string, address: string, peerAddress: string, v6?: [string, string]): void {
  ip(['-n', NS.ours, 'link', 'add', ifname, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', nsName]);
  ip(['-n', NS.ours, 'addr', 'add', `${address}/25`, 'dev', ifname]);
  if (v6) ip(['-n', NS.ours, 'addr', 'add', `${v6[0]}/64`, 'dev', ifname, 'nodad']);
  ip(['-n', NS.ours, 'link', 'set', ifname, 'up']);
  ip(['-n', nsName, 'link', 'set', 'lo', 'up']);
  ip(['-n', nsName, 'addr', 'add', `${peerAddress}/25`, 'dev', 'eth0']);
  if (v6) ip(['-n', nsName, 'addr', 'add', `${v6[1]}/64`, 'dev', 'eth0', 'nodad']);
  ip(['-n', nsName, 'link', 'set', 'eth0', 'up']);
}

/** A raw BFD packet from `nsName` with a chosen TTL, addressed to our session. */
function sendForged(nsName: string, from: string, to: string, ttl: number, packetHex: string): void {
  const code = `const s=require('dgram').createSocket('udp4');s.bind(50000,'${from}',()=>{s.setTTL(${ttl});s.send(Buffer.from('${packetHex}','hex'),3784,'${to}',()=>s.close());});`;
  run('ip', ['netns', 'exec', nsName, process.execPath, '-e', code]);
}
function adminDownPacket(myDisc: number, yourDisc: number): string {
  const b = Buffer.alloc(24);
  b[0] = (1 << 5) | 7;
  b[1] = 0 << 6;
  b[2] = 3;
  b[3] = 24;
  b.writeUInt32BE(myDisc, 4);
  b.writeUInt32BE(yourDisc, 8);
  b.writeUInt32BE(1_000_000, 12);
  b.writeUInt32BE(1_000_000, 16);
  return b.toString('hex');
}

describe('BFD against BIRD 2 and FRR bfdd between network namespaces', () => {
  beforeAll(async () => {
    if (!existsSync(COMPILED)) throw new Error(`${COMPILED} is missing: compile first with "npx tsc -p tsconfig.json" (npm test does)`);
    for (const bin of ['/usr/sbin/bird', '/usr/lib/frr/bfdd', '/usr/lib/frr/zebra']) {
      if (!existsSync(bin)) throw new Error(`${bin} is missing: apt-get install -y bird2 frr (scripts/install-prereqs.sh)`);
    }
    removeStaleNamespaces('ironlb-bfd');
    dir = mkdtempSync(join(tmpdir(), 'ironlb-bfd-'));
    for (const ns of Object.values(NS)) ip(['netns', 'add', ns]);
    ip(['-n', NS.ours, 'link', 'set', 'lo', 'up']);
    veth(NS.bird, 'to-bird', A_BIRD, BIRD, [A_BIRD6, BIRD6]);
    veth(NS.frr, 'to-frr', A_FRR, FRR);

    writeFileSync(join(dir, 'bird.conf'), [
      `log "${dir}/bird.log" all;`,
      `router id ${BIRD};`,
      'protocol device { }',
      'protocol bfd {',
      `  interface "eth0" { min rx interval ${INTERVAL_MS} ms; min tx interval ${INTERVAL_MS} ms; multiplier ${MULT}; };`,
      `  multihop { min rx interval ${INTERVAL_MS} ms; min tx interval ${INTERVAL_MS} ms; multiplier ${MULT}; };`,
      `  neighbor ${A_BIRD} dev "eth0" local ${BIRD};`,
      `  neighbor ${A_BIRD6} dev "eth0" local ${BIRD6};`,
      `  neighbor ${A_BIRD} local ${BIRD} multihop yes;`,
      '}',
      '',
    ].join('\n'));
    run('ip', ['netns', 'exec', NS.bird, 'bird', '-c', join(dir, 'bird.conf'), '-s', join(dir, 'bird.ctl'), '-P', join(dir, 'bird.pid')]);

    const frrDir = join(dir, 'frr');
    run('mkdir', ['-p', frrDir]);
    writeFileSync(join(frrDir, 'zebra.conf'), `hostname c\nlog file ${frrDir}/zebra.log\n`);
    writeFileSync(join(frrDir, 'bfdd.conf'), [
      'hostname c', `log file ${frrDir}/bfdd.log`, 'bfd',
      ` peer ${A_FRR} local-address ${FRR} interface eth0`,
      `  detect-multiplier ${MULT}`, `  receive-interval ${INTERVAL_MS}`, `  transmit-interval ${INTERVAL_MS}`,
      ' exit', 'exit', '',
    ].join('\n'));
    chownSync(dir, 103, 107);
    run('chown', ['-R', 'frr:frr', frrDir]);
    const common = ['--vty_socket', frrDir, '-z', join(frrDir, 'zserv.api'), '-P', '0'];
    run('ip', ['netns', 'exec', NS.frr, '/usr/lib/frr/zebra', '-d', '-f', join(frrDir, 'zebra.conf'), '-i', join(frrDir, 'zebra.pid'), ...common]);
    run('ip', ['netns', 'exec', NS.frr, '/usr/lib/frr/bfdd', '-d', '-f', join(frrDir, 'bfdd.conf'), '-i', join(frrDir, 'bfdd.pid'), ...common, '--bfdctl', join(frrDir, 'bfdd.sock')]);

    ours = spawn('ip', ['netns', 'exec', NS.ours, process.execPath, FIXTURE, String(INTERVAL_MS), String(INTERVAL_MS), String(MULT), `${BIRD}@${A_BIRD}`, `${FRR}@${A_FRR}`, `${BIRD6}@${A_BIRD6}`, `${BIRD}@${A_BIRD}@multihop@${BIRD_MULTIHOP_MIN_TTL}`], { stdio: ['ignore', 'pipe', 'pipe'] });
    let buf = '';
    ours.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      buf += chunk;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        try {
          lines.push(JSON.parse(line));
        } catch {
          stderr += `unparsable stdout: ${line}\n`;
        }
      }
    });
    ours.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  });

  afterAll(async () => {
    if (process.env.BFD_E2E_DEBUG) {
      for (const l of lines) if (l.kind !== 'status') process.stderr.write(`${JSON.stringify(l)}\n`);
      process.stderr.write(`${JSON.stringify(lines.filter((l) => l.kind === 'status').at(-1))}\n`);
      process.stderr.write(run('ip', ['netns', 'exec', NS.bird, 'birdc', '-s', join(dir, 'bird.ctl'), 'show', 'bfd', 'sessions'], { allowFail: true }));
      process.stderr.write(run('ip', ['netns', 'exec', NS.ours, 'nft', 'list', 'ruleset'], { allowFail: true }));
      if (dir && existsSync(join(dir, 'bird.log'))) process.stderr.write(readFileSync(join(dir, 'bird.log'), 'utf8').split('\n').filter((l) => /bfd/i.test(l)).slice(-30).join('\n'));
    }
    if (ours && ours.exitCode === null && ours.signalCode === null) {
      ours.kill('SIGKILL');
      await new Promise((r) => ours!.once('exit', r));
    }
    if (dir) {
      killPidFile(join(dir, 'bird.pid'));
      killPidFile(join(dir, 'frr', 'bfdd.pid'));
      killPidFile(join(dir, 'frr', 'zebra.pid'));
    }
    for (const ns of netnsNames().filter((n) => n.startsWith(`${PREFIX}-`))) spawnSync('ip', ['netns', 'del', ns]);
    if (dir) rmSync(dir, { recursive: true, force: true });
    expect(netnsNames().filter((n) => n.startsWith(`${PREFIX}-`))).toEqual([]);
  });

  it('sessions with BIRD and FRR come Up at 100 ms x 3 and both routers agree', async () => {
    await until('the BIRD session to be Up', () => sessionOf(BIRD)?.state === 'Up', 15_000);
    await until('the FRR session to be Up', () => sessionOf(FRR)?.state === 'Up', 15_000);
    // After the Poll Sequence both sides run at the configured 100 ms.
    await until('100 ms transmit intervals', () => sessionOf(BIRD)?.transmitIntervalMs === INTERVAL_MS && sessionOf(FRR)?.transmitIntervalMs === INTERVAL_MS, 5_000);
    expect(sessionOf(BIRD).detectionTimeMs).toBe(DETECTION_MS);
    await until('the IPv6 single-hop session with BIRD to be Up', () => sessionOf(BIRD6)?.state === 'Up', 15_000);
    await until('the IPv4 multihop session (UDP 4784) with BIRD to be Up', () => sessionOf(BIRD, true)?.state === 'Up', 15_000);
    expect(lines.some((l) => l.kind === 'error' && !/TTL guard/.test(l.message))).toBe(false);
    const birdView = run('ip', ['netns', 'exec', NS.bird, 'birdc', '-s', join(dir, 'bird.ctl'), 'show', 'bfd', 'sessions']);
    expect(birdView).toMatch(new RegExp(`${A_BIRD.replace(/\./g, '\\.')}\\s+eth0\\s+Up`));
    expect(birdView).toMatch(new RegExp(`${A_BIRD6}\\s+eth0\\s+Up`));
    expect(birdView.split('\n').filter((l) => /\bUp\b/.test(l))).toHaveLength(3);
    const frrView = run('ip', ['netns', 'exec', NS.frr, 'vtysh', '--vty_socket', join(dir, 'frr'), '-c', 'show bfd peers']);
    expect(frrView).toMatch(/Status: up/);
    process.stderr.write(`[bfd e2e] BIRD:\n${birdView.trim()}\n`);
  });

  it('GTSM: a packet with TTL 254 is dropped by the kernel guard; the same packet with TTL 255 is accepted', async () => {
    const s = sessionOf(BIRD);
    expect(s.state).toBe('Up');
    const from = lines.length;
    const forged = adminDownPacket(s.remoteDiscriminator, s.localDiscriminator);
    sendForged(NS.bird, BIRD, A_BIRD, 254, forged);
    await new Promise((r) => setTimeout(r, 300));
    expect(stateEvents(BIRD, from)).toEqual([]);
    const guard = run('ip', ['netns', 'exec', NS.ours, 'nft', 'list', 'table', 'inet', 'ironlb_bfd']);
    expect(guard).toMatch(/udp dport 3784 ip ttl != 255 counter packets 1 /);
    sendForged(NS.bird, BIRD, A_BIRD, 255, forged);
    const down = await until('the TTL-255 AdminDown to take the session down', () => stateEvents(BIRD, from).find((e) => e.to === 'Down'), 2_000);
    expect(down.diagnosticText).toBe('Neighbor Signaled Session Down');
    await until('the BIRD session to recover', () => sessionOf(BIRD)?.state === 'Up', 15_000);
  });

  for (const [name, peer, nsName] of [['BIRD', BIRD, NS.bird], ['FRR', FRR, NS.frr]] as const) {
    it(`${name}'s link down is detected within detectMult x interval with Control Detection Time Expired`, async () => {
      // Up, at full rate, and no state change for a second (the GTSM test just flapped BIRD).
      await until(`the ${name} session to be Up and stable`, () => sessionOf(peer)?.state === 'Up' && sessionOf(peer)?.transmitIntervalMs === INTERVAL_MS && Date.now() - (stateEvents(peer).at(-1)?.at ?? 0) > 1_000, 15_000);
      const from = lines.length;
      const t0 = Date.now();
      ip(['-n', nsName, 'link', 'set', 'eth0', 'down']);
      const down = await until(`our ${name} session to go Down`, () => stateEvents(peer, from).find((e) => e.to === 'Down'), 5_000);
      const detectedMs = down.at - t0;
      process.stderr.write(`[bfd e2e] ${name} link down -> Down after ${detectedMs} ms (detection time ${DETECTION_MS} ms, timer ran ${down.lateMs} ms late)\n`);
      expect(down.from).toBe('Up');
      expect(down.diagnosticText).toBe('Control Detection Time Expired');
      // The protocol decision (deadline) is within the detection time; the event loop of a busy
      // 2-core machine may add latency on top, bounded separately.
      expect(detectedMs - down.lateMs).toBeLessThanOrEqual(DETECTION_MS + 20);
      expect(detectedMs).toBeLessThanOrEqual(DETECTION_MS + MARGIN_MS);
      // A real timeout, not an early reaction: at least one transmit interval of silence had to pass.
      expect(detectedMs).toBeGreaterThanOrEqual(DETECTION_MS - INTERVAL_MS - 10);
      if (name === 'BIRD') {
        // The IPv6 and the multihop session over the same link fail the same way.
        for (const [p, mh] of [[BIRD6, false], [BIRD, true]] as const) {
          const e = await until(`${p}${mh ? ' multihop' : ''} to go Down`, () => stateEvents(p, from, mh).find((x) => x.to === 'Down'), 2_000);
          process.stderr.write(`[bfd e2e] BIRD ${p}${mh ? ' multihop' : ''} -> Down after ${e.at - t0} ms\n`);
          expect(e.diagnosticText).toBe('Control Detection Time Expired');
          expect(e.at - t0).toBeLessThanOrEqual(DETECTION_MS + MARGIN_MS);
        }
      }
      ip(['-n', nsName, 'link', 'set', 'eth0', 'up']);
      await until(`the ${name} session to come back Up`, () => sessionOf(peer)?.state === 'Up', 15_000);
    });
  }
});
