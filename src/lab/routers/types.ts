// What every lab router daemon is given (router.ts builds it from the lab's network plan).

export type RouterKind = 'bird' | 'frr' | 'gobgp';
export const ROUTER_KINDS: readonly RouterKind[] = ['bird', 'frr', 'gobgp'];

/** One lab node as the router sees it: it accepts a session from each of its addresses. */
export interface RouterNeighbor {
  /** Node name, e.g. lab-node-1. */
  readonly node: string;
  readonly index: number;
  /** IPv4 then IPv6 LAN address of the node. */
  readonly addresses: readonly [string, string];
}

export interface RouterDaemonSpec {
  readonly kind: RouterKind;
  readonly namespace: string;
  /** Config, sockets, pid files and logs (short path: unix sockets are limited to 107 bytes). */
  readonly dir: string;
  readonly asn: number;
  /** The ASN the nodes' speakers use (eBGP when it differs from asn). */
  readonly nodeAsn: number;
  /** IPv4 then IPv6 of the router on the LAN; the IPv4 one is the router id. */
  readonly lanAddresses: readonly [string, string];
  readonly lanInterface: string;
  readonly neighbors: readonly RouterNeighbor[];
  /** Seconds the router proposes; the session uses the smaller of both sides' values. */
  readonly holdTime: number;
  readonly keepaliveTime: number;
  /** Graceful restart: how long (s) routes of a restarting speaker are kept. */
  readonly restartTime: number;
  /** BFD on the router side (BIRD, FRR): intervals in ms and the detect multiplier. */
  readonly bfd: { readonly minRxMs: number; readonly minTxMs: number; readonly multiplier: number };
}

/** The router daemon's own words for "show me your sessions / routes". */
export interface RouterCommands {
  readonly sessions: string;
  readonly routes: string;
  readonly kernelRoutes: string;
}

export function familyOf(address: string): 'ipv4' | 'ipv6' {
  return address.includes(':') ? 'ipv6' : 'ipv4';
}
