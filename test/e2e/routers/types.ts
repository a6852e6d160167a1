// What the router harnesses share: how a test describes a router and its neighbours, and the
// common form of a router's BGP table (so a test asserts the same way against BIRD, FRR, GoBGP).

export type RouterKind = 'bird' | 'frr' | 'gobgp';

export interface NeighborSpec {
  readonly address: string;
  readonly asn: number;
  /** Port the neighbour listens on (default 179). */
  readonly port?: number;
  /** The router only accepts connections from this neighbour (never dials). */
  readonly passive?: boolean;
  readonly md5Password?: string;
  /** eBGP multihop: the TTL the router uses towards the neighbour (true = 255). */
  readonly multihop?: boolean | number;
  readonly bfd?: boolean;
  /** Graceful restart (RFC 4724): keep this neighbour's routes as stale while its session is down. */
  readonly gracefulRestart?: boolean;
  /** Address families to exchange (default: the neighbour address's family). */
  readonly families?: readonly ('ipv4' | 'ipv6')[];
  /** Timers (seconds): defaults hold 9, keepalive 3, as in the test-bed recipes. */
  readonly holdTime?: number;
  readonly keepaliveTime?: number;
}

export interface RouterSpec {
  /** Network namespace (ip netns name) the daemon runs in. */
  readonly ns: string;
  /** Directory for config, sockets, pid files and logs (created if missing). */
  readonly dir: string;
  readonly asn: number;
  readonly routerId: string;
  /** Local address the router peers from (optional: the kernel chooses). */
  readonly localAddress?: string;
  readonly neighbors: readonly NeighborSpec[];
  /** Install learned routes into the namespace's kernel table (ECMP where possible); default true. */
  readonly installRoutes?: boolean;
}

export interface RibRoute {
  readonly prefix: string;
  /** Next hops of the best path(s): one entry per ECMP next hop where the daemon reports them. */
  readonly nextHops: readonly string[];
  readonly asPath: readonly number[];
  readonly localPref?: number;
  /** Standard communities as "asn:value". */
  readonly communities: readonly string[];
  /** Large communities as "global:local1:local2". */
  readonly largeCommunities: readonly string[];
}

export interface AnnouncedRoute {
  readonly prefix: string;
  readonly nextHop?: string;
  readonly communities?: readonly string[];
  readonly largeCommunities?: readonly string[];
  readonly localPref?: number;
}

export type SessionState = 'idle' | 'connect' | 'active' | 'opensent' | 'openconfirm' | 'established' | 'unknown';

export interface KernelRoute {
  readonly prefix: string;
  readonly nextHops: readonly string[];
  readonly protocol?: string;
}

export interface RunningRouter {
  readonly kind: RouterKind;
  readonly spec: RouterSpec;
  /** PIDs of the daemon processes (for stop, and for tests that pause them). */
  pids(): number[];
  /** BGP session state towards one neighbour, from the daemon's CLI. */
  sessionState(neighbor: string): SessionState;
  /** The daemon's BGP table (IPv4 or IPv6 unicast) in the common form. */
  rib(family: 'ipv4' | 'ipv6'): RibRoute[];
  /**
   * Originates a route (GoBGP only for now: `gobgp global rib add`); lets a test put a route with
   * known attributes into a neighbour's table without a BGP speaker of ours.
   */
  announce(route: AnnouncedRoute): void;
  /** The daemon's log (for failure messages). */
  logText(): string;
  stop(): Promise<void>;
}
