// BIRD 2 in a namespace: `bird -f` in the foreground, control socket in the router's directory.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inNs, tryInNs } from './netns.js';
import { DEFAULT_HOLD, DEFAULT_KEEPALIVE, familyOf, readLog, runningPids, startDaemon, stopDaemons, waitForPath } from './daemon.js';
import type { NeighborSpec, RibRoute, RouterSpec, RunningRouter, SessionState } from './types.js';

export function birdConfig(spec: RouterSpec, dir: string): string {
  const install = spec.installRoutes ?? true;
  const lines = [
    `log "${join(dir, 'bird.log')}" all;`,
    `router id ${spec.routerId};`,
    'protocol device { }',
    // A multihop neighbour's next hop resolves recursively: learn the test's static routes from the kernel.
    ...(install && spec.neighbors.some((n) => n.multihop)
      ? ['protocol kernel { ipv4 { import all; export all; }; learn; merge paths on; }', 'protocol kernel { ipv6 { import none; export all; }; merge paths on; }']
      : install
        ? ['protocol kernel { ipv4 { import none; export all; }; merge paths on; }', 'protocol kernel { ipv6 { import none; export all; }; merge paths on; }']
        : []),
  ];
  if (spec.neighbors.some((n) => n.bfd)) lines.push('protocol bfd { interface "*" { min rx interval 100 ms; min tx interval 100 ms; multiplier 3; }; }');
  spec.neighbors.forEach((n, i) => lines.push(birdProtocol(spec, n, i)));
  return lines.join('\n') + '\n';
}

function birdProtocol(spec: RouterSpec, n: NeighborSpec, i: number): string {
  const families = n.families ?? [familyOf(n.address)];
  const body = [
    `  local ${spec.localAddress && familyOf(spec.localAddress) === familyOf(n.address) ? spec.localAddress + ' ' : ''}as ${spec.asn};`,
    `  neighbor ${n.address}${n.port ? ` port ${n.port}` : ''} as ${n.asn};`,
    `  hold time ${n.holdTime ?? DEFAULT_HOLD}; keepalive time ${n.keepaliveTime ?? DEFAULT_KEEPALIVE}; connect retry time 2;`,
    '  error wait time 1, 5;',
    ...(n.passive ? ['  passive on;'] : []),
    ...(n.md5Password ? [`  password "${n.md5Password}";`] : []),
    ...(n.multihop ? [`  multihop ${n.multihop === true ? 255 : n.multihop};`] : []),
    // iBGP is multihop (recursive next hop) by default in BIRD; a same-link iBGP neighbour is direct.
    ...(n.asn === spec.asn && !n.multihop ? ['  direct;'] : []),
    ...(n.bfd ? ['  bfd on;'] : []),
    ...(n.gracefulRestart ? ['  graceful restart on;'] : []),
    ...families.map((f) => `  ${f} { import all; export none;${f !== familyOf(n.address) ? ' extended next hop on;' : ''} };`),
  ];
  return `protocol bgp ${birdName(i)} {\n${body.join('\n')}\n}`;
}

const birdName = (i: number): string => `peer${i}`;

export async function startBird(spec: RouterSpec): Promise<RunningRouter> {
  const dir = spec.dir;
  mkdirSync(dir, { recursive: true });
  const conf = join(dir, 'bird.conf');
  const sock = join(dir, 'bird.ctl');
  writeFileSync(conf, birdConfig(spec, dir));
  inNs(spec.ns, '/usr/sbin/bird', ['-p', '-c', conf]); // parse only: a config error fails here with BIRD's message
  const proc = startDaemon(spec.ns, 'bird', '/usr/sbin/bird', ['-f', '-c', conf, '-s', sock], join(dir, 'bird.stdout'));
  await waitForPath(sock, `BIRD in ${spec.ns}`, proc);
  const birdc = (...args: string[]): string => inNs(spec.ns, '/usr/sbin/birdc', ['-s', sock, ...args]);
  return {
    kind: 'bird',
    spec,
    pids: () => runningPids([proc]),
    sessionState(neighbor) {
      const i = spec.neighbors.findIndex((n) => n.address === neighbor);
      if (i < 0) throw new Error(`BIRD in ${spec.ns} has no neighbour ${neighbor}`);
      const r = tryInNs(spec.ns, '/usr/sbin/birdc', ['-s', sock, 'show', 'protocols', birdName(i)]);
      const m = /\s(Idle|Connect|Active|OpenSent|OpenConfirm|Established)\b/.exec(r.out);
      return (m?.[1]?.toLowerCase() as SessionState | undefined) ?? 'unknown';
    },
    rib: (family) => parseBirdRoutes(birdc('show', 'route', 'all', 'table', family === 'ipv4' ? 'master4' : 'master6')),
    announce() {
      throw new Error('BIRD harness: announce() is not implemented; originate routes from a GoBGP router');
    },
    logText: () => readLog(join(dir, 'bird.log')) + readLog(proc.log),
    stop: () => stopDaemons([proc]),
  };
}

/** `birdc show route all` text -> best route per prefix. */
export function parseBirdRoutes(text: string): RibRoute[] {
  const routes: RibRoute[] = [];
  let prefix = '';
  let cur: { prefix: string; best: boolean; nextHops: string[]; asPath: number[]; localPref?: number; communities: string[]; largeCommunities: string[] } | undefined;
  const flush = (): void => {
    if (cur?.best) routes.push({ prefix: cur.prefix, nextHops: cur.nextHops, asPath: cur.asPath, ...(cur.localPref !== undefined ? { localPref: cur.localPref } : {}), communities: cur.communities, largeCommunities: cur.largeCommunities });
    cur = undefined;
  };
  for (const line of text.split('\n')) {
    const head = /^(\S+)?\s+unicast \[[^\]]*\]\s*(\*)?/.exec(line);
    if (head && !line.startsWith('\t')) {
      flush();
      if (head[1]) prefix = head[1];
      cur = { prefix, best: head[2] === '*', nextHops: [], asPath: [], communities: [], largeCommunities: [] };
      continue;
    }
    if (!cur) continue;
    const t = line.trim();
    let m: RegExpExecArray | null;
    if ((m = /^via (\S+)/.exec(t))) cur.nextHops.push(m[1]!);
    else if ((m = /^BGP\.as_path:\s*(.*)$/.exec(t))) cur.asPath = m[1]!.split(/\s+/).filter((x) => /^\d+$/.test(x)).map(Number);
    else if ((m = /^BGP\.local_pref:\s*(\d+)/.exec(t))) cur.localPref = Number(m[1]);
    else if ((m = /^BGP\.community:\s*(.*)$/.exec(t))) cur.communities = [...m[1]!.matchAll(/\((\d+),\s*(\d+)\)/g)].map((c) => `${c[1]}:${c[2]}`);
    else if ((m = /^BGP\.large_community:\s*(.*)$/.exec(t))) cur.largeCommunities = [...m[1]!.matchAll(/\((\d+),\s*(\d+),\s*(\d+)\)/g)].map((c) => `${c[1]}:${c[2]}:${c[3]}`);
    else if ((m = /^BGP\.next_hop:\s*(\S+)/.exec(t)) && cur.nextHops.length === 0) cur.nextHops.push(m[1]!);
  }
  flush();
  return routes;
}
