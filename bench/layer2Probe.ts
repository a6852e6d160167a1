// The client end of bench/layer2.ts: runs inside the lab's client namespace (started through
// `ip netns exec`), so its sockets, its `ip monitor neigh` and its raw ARP socket see exactly
// what a host on the LAN sees. Commands arrive as JSON lines on stdin, answers and events leave
// as JSON lines on stdout. Every time is process.hrtime (CLOCK_MONOTONIC, shared by every
// process on the machine), so the bench process can compare them with its own.
import { spawn, spawnSync } from 'node:child_process';
import { request } from 'node:http';
import { createInterface } from 'node:readline';
import { PacketSocket, ETHERTYPE_ARP } from '../src/net/packetSocket.js';
import { parseArp } from '../src/speaker/l2/arp.js';

export interface FailoverCommand {
  readonly id: number;
  readonly op: 'failover';
  readonly vip: string;
  readonly port: number;
  /** The announcing node's MAC: the client's neighbour entry points there before the loss. */
  readonly oldMac: string;
  /** MAC -> node name of every node; a switch to one of these other than oldMac is a failover. */
  readonly nodeMacs: Record<string, string>;
  /** The owner's namespace (its eth0 goes down) and its speaker's PID (SIGKILLed right after). */
  readonly killNamespace: string;
  readonly killPid: number;
  readonly timeoutMs: number;
  /** A new HTTP attempt (fresh TCP connection) starts this often until one succeeds. */
  readonly attemptEveryMs: number;
  readonly attemptTimeoutMs: number;
}

export interface FailoverResult {
  readonly id: number;
  /** hrtime (ns, as a string) when `ip link set eth0 down` returned; SIGKILL follows at once. */
  readonly t0Ns: string;
  /** How long `ip link set eth0 down` took (the cut happens somewhere inside it). */
  readonly linkDownMs: number;
  /** t0 -> the client's neighbour entry for the VIP names another node's MAC; null: not within the timeout. */
  readonly neighbourMs: number | null;
  readonly newMac: string | null;
  readonly newState: string | null;
  /** t0 -> the end of the first successful HTTP response; null: none within the timeout. */
  readonly httpMs: number | null;
  readonly httpNode: string | null;
  readonly attempts: number;
  /** The neighbour entry as `ip neigh show` reports it when the round ends (cross-check of the monitor). */
  readonly finalNeighbour: string;
  /** Kernel notifications about the VIP's entry during the round (diagnostics). */
  readonly vipChanges: number;
  readonly error?: string;
}

export interface GratuitousArpEvent {
  readonly ev: 'garp';
  readonly ip: string;
  readonly operation: number;
  readonly mac: string;
  readonly tNs: string;
}

type Command = FailoverCommand | { id: number; op: 'arp-capture'; on: boolean } | { id: number; op: 'ping' };

const now = () => process.hrtime.bigint();
const msSince = (t: bigint) => Number(now() - t) / 1e6;
const out = (o: unknown) => process.stdout.write(`${JSON.stringify(o)}\n`);
const macText = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');

// --- the neighbour table, as the kernel reports changes ---

interface NeighbourChange { ip: string; mac: string | undefined; state: string; deleted: boolean; t: bigint }
const neighbourListeners = new Set<(c: NeighbourChange) => void>();

/** `192.0.2.200 dev eth0 lladdr 02:49:4c:00:00:02 STALE` (or `Deleted ...`, or no lladdr when FAILED/INCOMPLETE). */
function parseNeighbourLine(line: string, t: bigint): NeighbourChange | undefined {
  const words = line.trim().split(/\s+/);
  const deleted = words[0] === 'Deleted';
  if (deleted) words.shift();
  const ip = words[0];
  if (!ip || !/^[0-9a-f:.]+$/i.test(ip)) return undefined;
  const at = words.indexOf('lladdr');
  return { ip, mac: at >= 0 ? words[at + 1]?.toLowerCase() : undefined, state: words[words.length - 1] ?? '', deleted, t };
}

// stdbuf: `ip monitor` writes through stdio, which a pipe would block-buffer.
// (No `dev eth0` filter: with one, iproute2 leaves "dev eth0" out of every line; the client has
// no other LAN interface.)
const monitor = spawn('stdbuf', ['-oL', 'ip', 'monitor', 'neigh'], { stdio: ['ignore', 'pipe', 'inherit'] });
createInterface({ input: monitor.stdout }).on('line', (line) => {
  const c = parseNeighbourLine(line, now());
  if (c) for (const l of neighbourListeners) l(c);
});

// --- failover: cut the owner off, then watch the neighbour entry and HTTP from here ---

function httpAttempt(vip: string, port: number, timeoutMs: number): Promise<{ ok: boolean; node?: string }> {
  return new Promise((resolve) => {
    const req = request({ host: vip, port, path: '/', agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => {
        let node: string | undefined;
        try {
          node = (JSON.parse(body) as { node?: string }).node;
        } catch {
          node = undefined;
        }
        resolve({ ok: res.statusCode === 200, node });
      });
      res.on('error', () => resolve({ ok: false }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve({ ok: false }));
    req.end();
  });
}

async function failover(c: FailoverCommand): Promise<FailoverResult> {
  let neighbourAt: bigint | undefined;
  let newMac: string | null = null;
  let newState: string | null = null;
  let t0 = 0n;
  let vipChanges = 0;
  const onChange = (n: NeighbourChange) => {
    if (n.ip === c.vip && t0 !== 0n) vipChanges++;
    if (t0 === 0n || neighbourAt !== undefined || n.ip !== c.vip || n.deleted || !n.mac) return;
    if (n.mac !== c.oldMac && c.nodeMacs[n.mac] !== undefined) {
      neighbourAt = n.t;
      newMac = n.mac;
      newState = n.state;
    }
  };
  neighbourListeners.add(onChange);
  const before = now();
  const down = spawnSync('ip', ['-n', c.killNamespace, 'link', 'set', 'eth0', 'down'], { encoding: 'utf8' });
  t0 = now();
  if (down.status !== 0) {
    neighbourListeners.delete(onChange);
    return { id: c.id, t0Ns: String(t0), linkDownMs: 0, neighbourMs: null, newMac, newState, httpMs: null, httpNode: null, attempts: 0, finalNeighbour: '', vipChanges, error: `ip link set eth0 down in ${c.killNamespace}: ${down.stderr.trim()}` };
  }
  let killError: string | undefined;
  try {
    process.kill(c.killPid, 'SIGKILL');
  } catch (e) {
    killError = `SIGKILL ${c.killPid}: ${(e as Error).message}`;
  }
  const linkDownMs = Number(t0 - before) / 1e6;

  let httpAt: bigint | undefined;
  let httpNode: string | null = null;
  let attempts = 0;
  const deadline = t0 + BigInt(c.timeoutMs) * 1_000_000n;
  await new Promise<void>((resolve) => {
    const finishIfDone = () => {
      if ((httpAt !== undefined && neighbourAt !== undefined) || now() >= deadline) {
        clearInterval(timer);
        resolve();
      }
    };
    const tick = () => {
      finishIfDone();
      if (httpAt !== undefined || now() >= deadline) return;
      attempts++;
      void httpAttempt(c.vip, c.port, c.attemptTimeoutMs).then((r) => {
        if (r.ok && httpAt === undefined) {
          httpAt = now();
          httpNode = r.node ?? null;
        }
      });
    };
    const timer = setInterval(tick, c.attemptEveryMs);
    tick();
  });
  neighbourListeners.delete(onChange);
  const finalNeighbour = spawnSync('ip', ['neigh', 'show', c.vip, 'dev', 'eth0'], { encoding: 'utf8' }).stdout.trim();
  const ms = (t: bigint | undefined) => (t === undefined ? null : Number(t - t0) / 1e6);
  return {
    id: c.id, t0Ns: String(t0), linkDownMs, neighbourMs: ms(neighbourAt), newMac, newState, httpMs: ms(httpAt), httpNode, attempts, finalNeighbour, vipChanges,
    ...(killError ? { error: killError } : {}),
  };
}

// --- gratuitous ARP capture ---

let capture: PacketSocket | undefined;

function setCapture(on: boolean): void {
  if (!on) {
    capture?.close();
    capture = undefined;
    return;
  }
  if (capture) return;
  capture = PacketSocket.open('eth0', { ethertype: ETHERTYPE_ARP, filter: 'none' });
  capture.onFrame((frame) => {
    const t = now();
    const p = parseArp(frame);
    // Gratuitous: the sender announces its own address (sender IP = target IP), request or reply form.
    if (!p.ok || p.value.senderIp !== p.value.targetIp) return;
    const ev: GratuitousArpEvent = { ev: 'garp', ip: p.value.senderIp, operation: p.value.operation, mac: macText(p.value.senderMac), tNs: String(t) };
    out(ev);
  });
  capture.onError((e) => out({ ev: 'error', message: e.message }));
}

createInterface({ input: process.stdin }).on('line', (line) => {
  let c: Command;
  try {
    c = JSON.parse(line) as Command;
  } catch {
    out({ ev: 'error', message: `not JSON: ${line}` });
    return;
  }
  const started = now();
  if (c.op === 'ping') out({ id: c.id, tNs: String(started) });
  else if (c.op === 'arp-capture') {
    try {
      setCapture(c.on);
      out({ id: c.id });
    } catch (e) {
      out({ id: c.id, error: (e as Error).message });
    }
  } else if (c.op === 'failover') {
    failover(c).then(out, (e: Error) => out({ id: c.id, error: e.message }));
  } else out({ ev: 'error', message: `unknown op in ${line}`, ms: msSince(started) });
}).on('close', () => {
  // The bench went away: leave nothing behind.
  capture?.close();
  monitor.kill();
  process.exit(0);
});
