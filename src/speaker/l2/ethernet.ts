// Ethernet II framing shared by the ARP and NDP codecs (no 802.1Q: tagged frames are dropped
// by the socket filter, the VLAN interface itself is where such an IP is announced).

export const ETHERNET_HEADER_LENGTH = 14;
export const ETHERTYPE_ARP = 0x0806;
export const ETHERTYPE_IPV6 = 0x86dd;

export const BROADCAST_MAC: Readonly<Uint8Array> = Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff);

/** Parse/validation outcome: codecs never throw on wire input, they say why they refused it. */
export type Parsed<T, Reason extends string> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: Reason };

export function formatMac(mac: Uint8Array): string {
  let s = '';
  for (let i = 0; i < 6; i++) s += (i ? ':' : '') + (mac[i] ?? 0).toString(16).padStart(2, '0');
  return s;
}

/** "aa:bb:cc:dd:ee:ff" (also "-" separated, any case) -> 6 bytes; undefined if it is not one. */
export function parseMac(text: string): Uint8Array | undefined {
  const parts = text.trim().split(/[:-]/);
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{2}$/.test(p))) return undefined;
  return Uint8Array.from(parts.map((p) => parseInt(p, 16)));
}

export function macEquals(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== 6 || b.length !== 6) return false;
  for (let i = 0; i < 6; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function isBroadcastMac(mac: Uint8Array): boolean {
  return macEquals(mac, BROADCAST_MAC);
}

/** Group bit set (broadcast included). */
export function isMulticastMac(mac: Uint8Array): boolean {
  return ((mac[0] ?? 0) & 1) === 1;
}

export interface EthernetHeader {
  readonly destination: Uint8Array;
  readonly source: Uint8Array;
  readonly ethertype: number;
}

export function readEthernetHeader(frame: Uint8Array): EthernetHeader | undefined {
  if (frame.length < ETHERNET_HEADER_LENGTH) return undefined;
  return {
    destination: frame.slice(0, 6),
    source: frame.slice(6, 12),
    ethertype: ((frame[12] ?? 0) << 8) | (frame[13] ?? 0),
  };
}

export function writeEthernetHeader(frame: Uint8Array, destination: Uint8Array, source: Uint8Array, ethertype: number): void {
  frame.set(destination.subarray(0, 6), 0);
  frame.set(source.subarray(0, 6), 6);
  frame[12] = (ethertype >> 8) & 0xff;
  frame[13] = ethertype & 0xff;
}
