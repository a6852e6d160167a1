// BGP transport: TCP connections to and from peers with the socket options BGP sessions need
// (TCP MD5 per RFC 2385, TTL for eBGP single-hop/multihop, GTSM minimum TTL, source address).
// No BGP semantics here: the FSM (fsm.ts) frames the byte stream with the codec's MessageFramer.
import { isIP, Socket, createServer } from 'node:net';
import type { Server } from 'node:net';
import { bindAddress, closeFd, createTcpSocket, setMd5Sig, setMinTtl, setTtl, socketFd } from '../../net/tcpOptions.js';

export const BGP_PORT = 179;

/** Default TTL for a session: eBGP single-hop 1 (the peer must be directly connected), multihop 255. */
export function bgpSessionTtl(session: { ebgp: boolean; multihop: boolean }): number | undefined {
  if (session.multihop) return 255;
  return session.ebgp ? 1 : undefined; // iBGP: the system default (peers are often not adjacent)
}

export interface ConnectBgpOptions {
  readonly peerAddress: string;
  readonly peerPort?: number;
  /** Local address to bind (BGPPeer sourceAddress); its family must match peerAddress. */
  readonly sourceAddress?: string;
  /** TCP MD5 key (RFC 2385); installed before the SYN is sent. */
  readonly md5Password?: string;
  /** Outgoing IP TTL / hop limit; see bgpSessionTtl(). Unset keeps the system default. */
  readonly ttl?: number;
  /** GTSM (RFC 5082): drop incoming segments whose TTL is lower (e.g. 255 for a one-hop GTSM peer). */
  readonly minTtl?: number;
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
  /** Network namespace (ip netns name or path) to open the socket in; default: this process's. */
  readonly netns?: string;
}

export class BgpConnectError extends Error {
  constructor(
    message: string,
    readonly code: 'ETIMEDOUT' | 'ABORTED' | string,
    readonly peerAddress: string,
    readonly peerPort: number,
  ) {
    super(message);
    this.name = 'BgpConnectError';
  }
}

/**
 * Opens an active BGP TCP connection. Resolves with the connected socket (no-delay on), or
 * rejects with a BgpConnectError: refused, unreachable, timed out (a peer that expects a
 * different MD5 key, or none, silently drops our SYN, so a key mismatch looks like a timeout).
 */
export function connectBgp(opts: ConnectBgpOptions): Promise<Socket> {
  const port = opts.peerPort ?? BGP_PORT;
  const family = isIP(opts.peerAddress);
  const where = `BGP peer ${opts.peerAddress} port ${port}`;
  if (family === 0) return Promise.reject(new TypeError(`${where}: peerAddress "${opts.peerAddress}" is not an IP address`));
  if (opts.sourceAddress !== undefined && isIP(opts.sourceAddress) !== family) {
    return Promise.reject(new TypeError(`${where}: sourceAddress "${opts.sourceAddress}" is not an IPv${family} address like the peer; set a source address of the peer's family`));
  }
  if (!Number.isInteger(port) || port < 1 || port > 65535) return Promise.reject(new RangeError(`${where}: peerPort must be 1..65535`));

  let fd: number;
  try {
    fd = createTcpSocket(family as 4 | 6, opts.netns);
  } catch (e) {
    return Promise.reject(new BgpConnectError(`${where}: ${(e as Error).message}`, (e as { code?: string }).code ?? 'EINVAL', opts.peerAddress, port));
  }
  try {
    if (opts.md5Password) setMd5Sig(fd, opts.peerAddress, opts.md5Password);
    if (opts.ttl !== undefined) setTtl(fd, opts.ttl);
    if (opts.minTtl !== undefined) setMinTtl(fd, opts.minTtl);
  } catch (e) {
    closeFd(fd);
    return Promise.reject(new BgpConnectError(`${where}: ${(e as Error).message}`, (e as { code?: string }).code ?? 'EINVAL', opts.peerAddress, port));
  }
  // Node adopts the configured fd; connect() reuses that handle (bind to localAddress, then connect).
  const socket = new Socket({ fd });
  return new Promise<Socket>((resolve, reject) => {
    let settled = false;
    const finish = (err?: BgpConnectError): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      socket.off('error', onError);
      if (err) {
        socket.destroy();
        reject(err);
      } else {
        socket.setNoDelay(true);
        resolve(socket);
      }
    };
    const onError = (e: NodeJS.ErrnoException): void =>
      finish(new BgpConnectError(`${where}: ${e.message}`, e.code ?? 'EIO', opts.peerAddress, port));
    const onAbort = (): void => finish(new BgpConnectError(`${where}: connection attempt aborted`, 'ABORTED', opts.peerAddress, port));
    const timer = setTimeout(
      () =>
        finish(
          new BgpConnectError(
            `${where}: no TCP connection after ${opts.timeoutMs} ms (peer down or unreachable, port filtered, or TCP MD5 key mismatch: a peer with a different key or none drops our segments)`,
            'ETIMEDOUT',
            opts.peerAddress,
            port,
          ),
        ),
      opts.timeoutMs,
    );
    if (opts.signal?.aborted) return onAbort();
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    socket.on('error', onError);
    socket.connect({ host: opts.peerAddress, port, family, ...(opts.sourceAddress !== undefined ? { localAddress: opts.sourceAddress } : {}) }, () => finish());
  });
}

export interface ListenBgpOptions {
  /** Local address to listen on ('::' listens on IPv4 and IPv6). */
  readonly address: string;
  readonly port?: number;
  /** TCP MD5 keys by peer address; a peer with a key must sign, peers without one may connect unsigned. */
  readonly md5Passwords?: ReadonlyMap<string, string>;
  /** TTL / minimum TTL for the listener (accepted sockets inherit them; adjust per peer with setTtl). */
  readonly ttl?: number;
  readonly minTtl?: number;
  /** Every accepted connection, with the peer's address normalised (no ::ffff: prefix for IPv4). */
  readonly onConnection: (socket: Socket, peerAddress: string) => void;
  /** Network namespace (ip netns name or path) to listen in; default: this process's. */
  readonly netns?: string;
}

export interface BgpListener {
  readonly server: Server;
  readonly port: number;
  /** Sets (or with undefined/'' removes) the MD5 key of one peer on the listening socket. */
  setPeerPassword(peerAddress: string, password: string | undefined): void;
  close(): Promise<void>;
}

/** Listens for passive BGP sessions; resolves once the socket is listening and keys are installed. */
export function listenBgp(opts: ListenBgpOptions): Promise<BgpListener> {
  const server = createServer({ noDelay: true }, (socket) => {
    const raw = socket.remoteAddress ?? '';
    opts.onConnection(socket, raw.startsWith('::ffff:') && isIP(raw.slice(7)) === 4 ? raw.slice(7) : raw);
  });
  return new Promise<BgpListener>((resolve, reject) => {
    server.once('error', reject);
    const port = opts.port ?? BGP_PORT;
    let listenOn: { host: string; port: number; exclusive: true } | { fd: number; exclusive: true } = { host: opts.address, port, exclusive: true };
    if (opts.netns !== undefined) {
      // Node cannot bind in another namespace: bind our own socket there and let Node listen on it.
      let fd: number | undefined;
      try {
        fd = createTcpSocket(isIP(opts.address) === 4 ? 4 : 6, opts.netns);
        bindAddress(fd, opts.address, port);
      } catch (e) {
        if (fd !== undefined) closeFd(fd);
        reject(new Error(`BGP listener ${opts.address} port ${port} in netns ${opts.netns}: ${(e as Error).message}`));
        return;
      }
      listenOn = { fd, exclusive: true };
    }
    server.listen(listenOn, () => {
      server.off('error', reject);
      const where = `BGP listener ${opts.address} port ${opts.port ?? BGP_PORT}`;
      const setPeerPassword = (peer: string, password: string | undefined): void => {
        try {
          setMd5Sig(socketFd(server), peer, password ?? '');
        } catch (e) {
          throw new Error(`${where}: TCP MD5 key for peer ${peer}: ${(e as Error).message}`);
        }
      };
      try {
        const fd = socketFd(server);
        if (opts.ttl !== undefined) setTtl(fd, opts.ttl);
        if (opts.minTtl !== undefined) setMinTtl(fd, opts.minTtl);
        for (const [peer, password] of opts.md5Passwords ?? []) setPeerPassword(peer, password);
      } catch (e) {
        server.close();
        reject(e instanceof Error ? e : new Error(String(e)));
        return;
      }
      const address = server.address();
      resolve({
        server,
        port: typeof address === 'object' && address ? address.port : (opts.port ?? BGP_PORT),
        setPeerPassword,
        close: () => new Promise<void>((res) => server.close(() => res())),
      });
    });
  });
}
