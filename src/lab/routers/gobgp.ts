// GoBGP as the lab router: gobgpd with one passive neighbour per node address, its gRPC API on
// the router namespace's loopback. gobgpd does not touch the kernel, so the lab runs
// `ironlb lab gobgp-routes` next to it (gobgpRoutes.ts), which mirrors the RIB into the
// namespace's kernel table as ECMP routes.
import { join } from 'node:path';
import { familyOf, type RouterDaemonSpec } from './types.js';

export const GOBGPD = '/usr/bin/gobgpd';
export const GOBGP = '/usr/bin/gobgp';
/** Per namespace, so it never clashes with another lab's router or a node's gobgpd. */
export const GOBGP_API_HOST = '127.0.0.1';
export const GOBGP_API_PORT = 50051;

export function gobgpFiles(dir: string): { config: string; log: string; mirrorLog: string } {
  return { config: join(dir, 'gobgpd.toml'), log: join(dir, 'gobgpd.log'), mirrorLog: join(dir, 'gobgp-routes.log') };
}

export function gobgpConfig(spec: RouterDaemonSpec): string {
  const l = [
    '[global.config]', `  as = ${spec.asn}`, `  router-id = "${spec.lanAddresses[0]}"`, '  port = 179',
    `  local-address-list = [${spec.lanAddresses.map((a) => `"${a}"`).join(', ')}]`,
    '[global.use-multiple-paths.config]', '  enabled = true',
  ];
  for (const n of spec.neighbors) {
    for (const address of n.addresses) {
      const family = familyOf(address);
      l.push(
        '[[neighbors]]',
        '  [neighbors.config]', `    neighbor-address = "${address}"`, `    peer-as = ${spec.nodeAsn}`, `    description = "${n.node}"`,
        '  [neighbors.timers.config]', `    hold-time = ${spec.holdTime}`, `    keepalive-interval = ${spec.keepaliveTime}`,
        // Speakers dial the router; the router never dials.
        '  [neighbors.transport.config]', '    passive-mode = true', `    local-address = "${spec.lanAddresses[family === 'ipv4' ? 0 : 1]}"`,
        '  [neighbors.graceful-restart.config]', '    enabled = true', `    restart-time = ${spec.restartTime}`,
        '  [[neighbors.afi-safis]]', '    [neighbors.afi-safis.config]', `      afi-safi-name = "${family}-unicast"`,
        '    [neighbors.afi-safis.mp-graceful-restart.config]', '      enabled = true',
      );
    }
  }
  return l.join('\n') + '\n';
}
