// Typed wrapper around the AF_PACKET addon (native/afpacket): one raw Ethernet socket bound to
// one interface and one EtherType, with an optional kernel (classic BPF) pre-filter.
// Needs CAP_NET_RAW. Frames arrive on the event loop (libuv poll), never on another thread.
import { addonRelativePath, loadNativeAddon } from './nativeAddon.js';

export const ETHERTYPE_ARP = 0x0806;
export const ETHERTYPE_IPV6 = 0x86dd;

/**
 * Kernel-side pre-selection (classic BPF, attached before bind so no frame slips past):
 * - 'arp-request': untagged frames with EtherType 0x0806 and ARP operation 1;
 * - 'neighbor-solicitation': untagged IPv6 frames whose next header is ICMPv6 (58) and whose
 *   ICMPv6 type is 135 (hop limit, code, checksum are left to the parser, so bad ones are seen);
 * - 'none': every frame of the bound EtherType.
 */
export type PacketFilter = 'none' | 'arp-request' | 'neighbor-solicitation';

/** sll_pkttype of a received frame (linux/if_packet.h). */
export const PacketType = { host: 0, broadcast: 1, multicast: 2, otherHost: 3, outgoing: 4 } as const;

export interface PacketSocketOptions {
  /** EtherType to receive (e.g. ETHERTYPE_ARP). 0 opens a send-only socket that receives nothing. */
  readonly ethertype: number;
  readonly filter?: PacketFilter;
}

export type FrameHandler = (frame: Buffer, pkttype: number) => void;
export type SocketErrorHandler = (err: Error) => void;

/** What the L2 announcer needs from a raw socket; PacketSocket implements it, tests fake it. */
export interface FrameSocket {
  readonly ifname: string;
  readonly ifindex: number;
  /** The interface MAC as read when the socket was opened (a copy). */
  readonly mac: Buffer;
  onFrame(handler: FrameHandler): void;
  onError(handler: SocketErrorHandler): void;
  /** Sends one complete Ethernet frame; false when the kernel queue was full and it was dropped. */
  send(frame: Uint8Array): boolean;
  addMulticast(mac: Uint8Array | string): void;
  dropMulticast(mac: Uint8Array | string): void;
  close(): void;
}

interface NativeSocket {
  readonly ifindex: number;
  readonly mac: Buffer;
  send(frame: Uint8Array): boolean;
  addMembership(mac: Uint8Array): void;
  dropMembership(mac: Uint8Array): void;
  close(): void;
}

interface NativeAddon {
  Socket: new (ifname: string, ethertype: number, filter: number, callback?: (frame: Buffer | null, pkttype: number, message?: string) => void) => NativeSocket;
  FILTER_NONE: number;
  FILTER_ARP_REQUEST: number;
  FILTER_ICMP6_NEIGHBOR_SOLICITATION: number;
}

export const ADDON_RELATIVE_PATH = addonRelativePath('afpacket');

function loadAddon(): NativeAddon {
  return loadNativeAddon<NativeAddon>('afpacket', 'AF_PACKET');
}

function filterCode(a: NativeAddon, filter: PacketFilter): number {
  switch (filter) {
    case 'none': return a.FILTER_NONE;
    case 'arp-request': return a.FILTER_ARP_REQUEST;
    case 'neighbor-solicitation': return a.FILTER_ICMP6_NEIGHBOR_SOLICITATION;
  }
}

/** "33:33:ff:00:02:00" or 6 bytes -> 6 bytes. */
function macBytes(mac: Uint8Array | string): Uint8Array {
  if (typeof mac !== 'string') return mac;
  const parts = mac.split(':');
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{2}$/.test(p))) throw new TypeError(`"${mac}" is not a MAC address (expected xx:xx:xx:xx:xx:xx)`);
  return Uint8Array.from(parts.map((p) => parseInt(p, 16)));
}

export class PacketSocket implements FrameSocket {
  readonly ifname: string;
  readonly ifindex: number;
  readonly #mac: Buffer;
  readonly #native: NativeSocket;
  #frameHandler: FrameHandler | undefined;
  #errorHandler: SocketErrorHandler | undefined;
  #closed = false;

  private constructor(ifname: string, options: PacketSocketOptions, a: NativeAddon) {
    const receives = options.ethertype !== 0;
    this.ifname = ifname;
    this.#native = new a.Socket(ifname, options.ethertype, filterCode(a, options.filter ?? 'none'), receives ? (frame, pkttype, message) => this.#dispatch(frame, pkttype, message) : undefined);
    this.ifindex = this.#native.ifindex;
    this.#mac = Buffer.from(this.#native.mac);
  }

  /**
   * Opens a raw socket on `ifname` (in the caller's network namespace). Throws an Error naming
   * the interface, the failed syscall and the errno (e.g. ENODEV for a missing interface,
   * EPERM without CAP_NET_RAW).
   */
  static open(ifname: string, options: PacketSocketOptions): PacketSocket {
    return new PacketSocket(ifname, options, loadAddon());
  }

  get mac(): Buffer {
    return Buffer.from(this.#mac);
  }

  get closed(): boolean {
    return this.#closed;
  }

  onFrame(handler: FrameHandler): void {
    this.#frameHandler = handler;
  }

  onError(handler: SocketErrorHandler): void {
    this.#errorHandler = handler;
  }

  send(frame: Uint8Array): boolean {
    return this.#native.send(frame);
  }

  addMulticast(mac: Uint8Array | string): void {
    this.#native.addMembership(macBytes(mac));
  }

  dropMulticast(mac: Uint8Array | string): void {
    this.#native.dropMembership(macBytes(mac));
  }

  /** Stops receiving and closes the fd (dropping its multicast memberships). Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#native.close();
  }

  #dispatch(frame: Buffer | null, pkttype: number, message?: string): void {
    if (this.#closed) return;
    if (frame === null) {
      const err = Object.assign(new Error(message ?? `afpacket: socket error ${pkttype} on ${this.ifname}`), { errno: -pkttype, ifname: this.ifname });
      if (this.#errorHandler) this.#errorHandler(err);
      return;
    }
    if (!this.#frameHandler) return;
    try {
      this.#frameHandler(frame, pkttype);
    } catch (e) {
      // A bug in a handler must not take the socket (or the process) down with it.
      if (this.#errorHandler) this.#errorHandler(e instanceof Error ? e : new Error(String(e)));
      else throw e;
    }
  }
}
