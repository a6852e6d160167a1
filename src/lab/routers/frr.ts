// FRR as the lab router: zebra (kernel routes, ECMP through maximum-paths), bfdd (profile
// `lab`, 100 ms x 3) and bgpd with one passive peer group for the nodes. FRR refuses to run as
// root ("not part of vty group frrvty"), so the daemons run as user frr in a directory it owns
// (testbed §5.3).
import { join } from 'node:path';
import type { RouterDaemonSpec } from './types.js';

export const FRR_DIR = '/usr/lib/frr';
export const VTYSH = '/usr/bin/vtysh';
export const FRR_BFD_PROFILE = 'lab';

export function frrFiles(dir: string): Record<'zebraConfig' | 'bfddConfig' | 'bgpdConfig' | 'zserv' | 'bfdctl', string> {
  return {
    zebraConfig: join(dir, 'zebra.conf'), bfddConfig: join(dir, 'bfdd.conf'), bgpdConfig: join(dir, 'bgpd.conf'),
    zserv: join(dir, 'zserv.api'), bfdctl: join(dir, 'bfdd.sock'),
  };
}

export function frrZebraConfig(spec: RouterDaemonSpec): string {
  return `hostname lab-router\nlog file ${join(spec.dir, 'zebra.log')}\n`;
}

export function frrBfddConfig(spec: RouterDaemonSpec): string {
  return [
    'hostname lab-router', `log file ${join(spec.dir, 'bfdd.log')}`, 'bfd', ` profile ${FRR_BFD_PROFILE}`,
    `  detect-multiplier ${spec.bfd.multiplier}`, `  receive-interval ${spec.bfd.minRxMs}`, `  transmit-interval ${spec.bfd.minTxMs}`,
    ' exit', 'exit',
  ].join('\n') + '\n';
}

export function frrBgpdConfig(spec: RouterDaemonSpec): string {
  const l = [
    'hostname lab-router', `log file ${join(spec.dir, 'bgpd.log')}`,
    `router bgp ${spec.asn}`,
    ` bgp router-id ${spec.lanAddresses[0]}`,
    // Without a policy FRR drops every eBGP route (RFC 8212); the lab router takes them all.
    ' no bgp ebgp-requires-policy',
    ' no bgp default ipv4-unicast',
    ' bgp graceful-restart',
    ` bgp graceful-restart restart-time ${spec.restartTime}`,
    ' bgp bestpath as-path multipath-relax',
    ' neighbor nodes peer-group',
    ` neighbor nodes remote-as ${spec.nodeAsn}`,
    ' neighbor nodes passive',
    ` neighbor nodes timers ${spec.keepaliveTime} ${spec.holdTime}`,
    ` neighbor nodes bfd profile ${FRR_BFD_PROFILE}`,
  ];
  for (const n of spec.neighbors) for (const a of n.addresses) l.push(` neighbor ${a} peer-group nodes`, ` neighbor ${a} description ${n.node}`);
  for (const [i, family] of (['ipv4', 'ipv6'] as const).entries()) {
    l.push(` address-family ${family} unicast`, '  maximum-paths 16', '  maximum-paths ibgp 16');
    for (const n of spec.neighbors) l.push(`  neighbor ${n.addresses[i]} activate`);
    l.push(' exit-address-family');
  }
  l.push('exit');
  return l.join('\n') + '\n';
}
