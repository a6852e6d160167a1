// BIRD 2 as the lab router: passive eBGP (or iBGP) sessions with every node address, learned
// routes merged into ECMP kernel routes (`merge paths on`), BFD and graceful restart on.
import { join } from 'node:path';
import type { RouterDaemonSpec } from './types.js';

export const BIRD = '/usr/sbin/bird';
export const BIRDC = '/usr/sbin/birdc';

export function birdFiles(dir: string): { config: string; socket: string; log: string; stdout: string } {
  return { config: join(dir, 'bird.conf'), socket: join(dir, 'bird.ctl'), log: join(dir, 'bird.log'), stdout: join(dir, 'bird.stdout') };
}

/** Protocol name of one session: node1_v4, node1_v6. */
export function birdProtocolName(index: number, family: 'ipv4' | 'ipv6'): string {
  return `node${index}_${family === 'ipv4' ? 'v4' : 'v6'}`;
}

export function birdConfig(spec: RouterDaemonSpec): string {
  const files = birdFiles(spec.dir);
  const { bfd } = spec;
  const lines = [
    `log "${files.log}" all;`,
    `router id ${spec.lanAddresses[0]};`,
    'protocol device { }',
    // Into the namespace's kernel table; equal BGP paths from several nodes become one multipath route.
    'protocol kernel kernel4 { ipv4 { import none; export all; }; merge paths on; }',
    'protocol kernel kernel6 { ipv6 { import none; export all; }; merge paths on; }',
    `protocol bfd { interface "${spec.lanInterface}" { min rx interval ${bfd.minRxMs} ms; min tx interval ${bfd.minTxMs} ms; multiplier ${bfd.multiplier}; }; }`,
    'template bgp nodes {',
    // Speakers dial the router (MetalLB's speaker connects out); the router never dials.
    '  passive on;',
    `  hold time ${spec.holdTime}; keepalive time ${spec.keepaliveTime};`,
    // BIRD's default 60 s wait after an error would delay re-peering after a speaker crash.
    '  error wait time 1, 5;',
    `  graceful restart on; graceful restart time ${spec.restartTime};`,
    // A BFD session that never came up does not hold the BGP session down: speakers without a
    // bfdProfile still peer; with one, the session follows BFD.
    '  bfd on;',
    '}',
  ];
  for (const n of spec.neighbors) {
    for (const [i, family] of (['ipv4', 'ipv6'] as const).entries()) {
      const local = spec.lanAddresses[i] as string;
      lines.push(
        `protocol bgp ${birdProtocolName(n.index, family)} from nodes {`,
        `  description "${n.node}";`,
        `  local ${local} as ${spec.asn};`,
        `  neighbor ${n.addresses[i]} as ${spec.nodeAsn};`,
        // The next hop is the node's LAN address, directly connected (also for iBGP).
        `  ${family} { import all; export none; gateway direct; };`,
        '}',
      );
    }
  }
  return lines.join('\n') + '\n';
}
