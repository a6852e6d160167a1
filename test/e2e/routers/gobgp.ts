// GoBGP in a namespace: gobgpd in the foreground, its gRPC API on the namespace's loopback.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tryInNs } from './netns.js';
import { DEFAULT_HOLD, DEFAULT_KEEPALIVE, familyOf, readLog, runningPids, startDaemon, stopDaemons } from './daemon.js';
import type { RibRoute, RouterSpec, RunningRouter, SessionState } from './types.js';
import { isRunning } from '../../../src/lab/processes.js';

const API = '127.0.0.1:50051'; // per namespace: no clash between routers in different namespaces

export function gobgpConfig(spec: RouterSpec): string {
  const l = ['[global.config]', `  as = ${spec.asn}`, `  router-id = "${spec.routerId}"`, '  port = 179'];
  if (spec.localAddress) l.push(`  local-address-list = ["${spec.localAddress}"]`);
  for (const n of spec.neighbors) {
    l.push('[[neighbors]]', '  [neighbors.config]', `    neighbor-address = "${n.address}"`, `    peer-as = ${n.asn}`);
    if (n.md5Password) l.push(`    auth-password = "${n.md5Password}"`);
    l.push('  [neighbors.timers.config]', `    hold-time = ${n.holdTime ?? DEFAULT_HOLD}`, `    keepalive-interval = ${n.keepaliveTime ?? DEFAULT_KEEPALIVE}`, '    connect-retry = 2');
    l.push('  [neighbors.transport.config]', `    passive-mode = ${n.passive ? 'true' : 'false'}`);
    if (n.port) l.push(`    remote-port = ${n.port}`);
    if (spec.localAddress && familyOf(spec.localAddress) === familyOf(n.address)) l.push(`    local-address = "${spec.localAddress}"`);
    if (n.gracefulRestart) l.push('  [neighbors.graceful-restart.config]', '    enabled = true', '    restart-time = 120');
    if (n.multihop) l.push('  [neighbors.ebgp-multihop.config]', '    enabled = true', `    multihop-ttl = ${n.multihop === true ? 255 : n.multihop}`);
    for (const f of n.families ?? [familyOf(n.address)]) l.push('  [[neighbors.afi-safis]]', '    [neighbors.afi-safis.config]', `      afi-safi-name = "${f}-unicast"`);
  }
  return l.join('\n') + '\n';
}

export async function startGobgp(spec: RouterSpec): Promise<RunningRouter> {
  const dir = spec.dir;
  mkdirSync(dir, { recursive: true });
  const conf = join(dir, 'gobgpd.toml');
  writeFileSync(conf, gobgpConfig(spec));
  const proc = startDaemon(spec.ns, 'gobgpd', '/usr/bin/gobgpd', ['-f', conf, '--api-hosts', API, '--pprof-disable', '-p'], join(dir, 'gobgpd.log'));
  const [host, port] = API.split(':') as [string, string];
  const gobgp = (...args: string[]) => tryInNs(spec.ns, '/usr/bin/gobgp', ['-u', host, '-p', port, ...args]);
  const deadline = Date.now() + 10_000;
  for (;;) {
    const r = gobgp('global', '-j');
    if (r.code === 0) break;
    if (Date.now() > deadline || (!isRunning(proc) && Date.now() > deadline - 9000)) {
      await stopDaemons([proc]);
      throw new Error(`GoBGP in ${spec.ns}: API ${API} not answering (${r.err.trim()}); log:\n${readLog(proc.log)}`);
    }
    await new Promise((res) => setTimeout(res, 100));
  }
  return {
    kind: 'gobgp',
    spec,
    pids: () => runningPids([proc]),
    sessionState(neighbor) {
      const r = gobgp('neighbor', neighbor, '-j');
      if (r.code !== 0) return 'unknown';
      const s = (JSON.parse(r.out) as { state?: { session_state?: string | number } }).state?.session_state;
      const names: Record<string, SessionState> = { 1: 'idle', 2: 'connect', 3: 'active', 4: 'opensent', 5: 'openconfirm', 6: 'established' };
      if (typeof s === 'number') return names[s] ?? 'unknown';
      return ((s ?? '').toLowerCase().replace(/^session_state_/, '') as SessionState) || 'unknown';
    },
    rib(family) {
      const r = gobgp('global', 'rib', '-a', family, '-j');
      if (r.code !== 0) throw new Error(`gobgp global rib -a ${family} in ${spec.ns}: ${r.err}`);
      return parseGobgpRib(r.out);
    },
    announce(route) {
      const family = route.prefix.includes(':') ? 'ipv6' : 'ipv4';
      const args = ['global', 'rib', '-a', family, 'add', route.prefix, 'origin', 'igp'];
      if (route.nextHop) args.push('nexthop', route.nextHop);
      if (route.communities?.length) args.push('community', route.communities.join(','));
      if (route.largeCommunities?.length) args.push('large-community', route.largeCommunities.join(','));
      if (route.localPref !== undefined) args.push('local-pref', String(route.localPref));
      const r = gobgp(...args);
      if (r.code !== 0) throw new Error(`gobgp ${args.join(' ')} in ${spec.ns}: ${r.err || r.out}`);
    },
    logText: () => readLog(proc.log),
    stop: () => stopDaemons([proc]),
  };
}

interface GobgpAttr {
  type: number;
  value?: unknown;
  as_paths?: { asns?: number[] }[];
  nexthop?: string;
  communities?: number[];
}
interface GobgpPath {
  nlri?: { prefix?: string };
  attrs?: GobgpAttr[];
  best?: boolean;
  nexthop?: string;
}

/** `gobgp global rib -j` (object prefix -> paths) -> best path per prefix. */
export function parseGobgpRib(text: string): RibRoute[] {
  const trimmed = text.trim();
  if (!trimmed) return [];
  const table = JSON.parse(trimmed) as Record<string, GobgpPath[]>;
  return Object.entries(table).flatMap(([prefix, paths]) => {
    const best = paths.find((p) => p.best) ?? paths[0];
    if (!best) return [];
    const attrs = best.attrs ?? [];
    const at = (t: number) => attrs.find((a) => a.type === t);
    const mp = at(14) as { nexthop?: string } | undefined;
    const nh = at(3)?.nexthop ?? mp?.nexthop ?? best.nexthop;
    const lp = at(5)?.value;
    // gobgp -j prints Go structs: {ASN, LocalData1, LocalData2} (older releases: snake_case).
    const large = (at(32)?.value as Record<string, number | undefined>[] | undefined) ?? [];
    return [
      {
        prefix,
        nextHops: nh ? [nh] : [],
        asPath: (at(2)?.as_paths ?? []).flatMap((s) => s.asns ?? []),
        ...(typeof lp === 'number' ? { localPref: lp } : {}),
        communities: (at(8)?.communities ?? []).map((c) => `${c >>> 16}:${c & 0xffff}`),
        largeCommunities: large.map((c) => `${c.ASN ?? c.global_admin ?? '?'}:${c.LocalData1 ?? c.local_data1 ?? '?'}:${c.LocalData2 ?? c.local_data2 ?? '?'}`),
      },
    ];
  });
}
