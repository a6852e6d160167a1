// Typed wrapper around the tcpsock addon (native/tcpsock): the TCP socket options BGP needs that
// Node's net module lacks. TCP MD5 signatures (RFC 2385) must be on the socket before the SYN,
// so an outgoing signed connection starts from createTcpSocket(), not from net.connect().
import { isIP } from 'node:net';
import type { Server, Socket } from 'node:net';
import { addonRelativePath, loadNativeAddon } from './nativeAddon.js';

interface NativeTcpAddon {
  createTcpSocket(family: 4 | 6, netnsPath?: string): number;
  bindAddress(fd: number, address: string, port: number): void;
  closeFd(fd: number): void;
  socketFamily(fd: number): 4 | 6;
  setMd5Sig(fd: number, peerAddress: string, key: string | Buffer, prefixLength?: number): void;
  setTtl(fd: number, ttl: number): void;
  getTtl(fd: number): number;
  setMinTtl(fd: number, ttl: number): void;
  getMinTtl(fd: number): number;
}

export const TCPSOCK_ADDON_RELATIVE_PATH = addonRelativePath('tcpsock');

/** Longest TCP MD5 key the kernel accepts (TCP_MD5SIG_MAXKEYLEN). */
export const MD5_MAX_KEY_BYTES = 80;

function loadAddon(): NativeTcpAddon {
  return loadNativeAddon<NativeTcpAddon>('tcpsock', 'tcpsock');
}

/** The OS file descriptor behind a connected/listening Node TCP socket or server. */
export function socketFd(sock: Socket | Server): number {
  const handle = (sock as unknown as { _handle?: { fd?: number } | null })._handle;
  const fd = handle?.fd;
  if (typeof fd !== 'number' || fd < 0) {
    throw new Error('this socket has no file descriptor yet (not listening/connected, or already closed); call after "listening"/"connect"');
  }
  return fd;
}

/**
 * A fresh non-blocking, close-on-exec TCP socket fd (not bound, not connected). With netns (a
 * name under /run/netns or a path), the socket is created in that network namespace (needs
 * CAP_SYS_ADMIN) and keeps working there: one process can drive sockets in several namespaces.
 */
export function createTcpSocket(family: 4 | 6, netns?: string): number {
  return loadAddon().createTcpSocket(family, netns === undefined ? undefined : netnsPath(netns));
}

/** `ip netns` name -> /run/netns/<name>; paths are kept. */
export function netnsPath(netns: string): string {
  return netns.includes('/') ? netns : `/run/netns/${netns}`;
}

/** bind() an fd from createTcpSocket (for a listener handed to net.Server via { fd }). */
export function bindAddress(fd: number, address: string, port: number): void {
  loadAddon().bindAddress(fd, address, port);
}

/** Closes an fd from createTcpSocket that was never handed to Node. */
export function closeFd(fd: number): void {
  loadAddon().closeFd(fd);
}

export function socketFamily(fd: number): 4 | 6 {
  return loadAddon().socketFamily(fd);
}

/**
 * Installs (or with an empty key removes) the TCP MD5 key for one peer address on fd.
 * On a listening socket the key applies to connections accepted from that peer afterwards; an
 * IPv4 peer on a dual-stack IPv6 socket is keyed as ::ffff:a.b.c.d. prefixLength keys a whole
 * peer prefix (TCP_MD5SIG_EXT). Segments without the right signature are dropped by the kernel.
 */
export function setMd5Sig(fd: number, peerAddress: string, key: string | Buffer, prefixLength?: number): void {
  if (isIP(peerAddress) === 0) throw new TypeError(`TCP MD5: peer address "${peerAddress}" is not an IP address`);
  const bytes = typeof key === 'string' ? Buffer.byteLength(key) : key.length;
  if (bytes > MD5_MAX_KEY_BYTES) throw new RangeError(`TCP MD5: the key for peer ${peerAddress} has ${bytes} bytes; the kernel accepts at most ${MD5_MAX_KEY_BYTES}`);
  loadAddon().setMd5Sig(fd, peerAddress, key, prefixLength);
}

/** Outgoing IP TTL / IPv6 hop limit (1..255). eBGP single-hop uses 1, multihop 255. */
export function setTtl(fd: number, ttl: number): void {
  loadAddon().setTtl(fd, ttl);
}

export function getTtl(fd: number): number {
  return loadAddon().getTtl(fd);
}

/** GTSM (RFC 5082): drop incoming packets whose TTL / hop limit is below ttl (0 disables). */
export function setMinTtl(fd: number, ttl: number): void {
  loadAddon().setMinTtl(fd, ttl);
}

export function getMinTtl(fd: number): number {
  return loadAddon().getMinTtl(fd);
}
