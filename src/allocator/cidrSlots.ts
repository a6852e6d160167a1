// The allocatable addresses of one pool CIDR, numbered as a contiguous range of "slots".
// Without avoidBuggyIPs a slot is the address itself. With avoidBuggyIPs (IPv4 only, MetalLB
// skips addresses ending in .0 and .255) the 254 usable addresses of every /24 are numbered
// consecutively, so "first free slot" never has to step over the skipped addresses and the
// slot count is exactly MetalLB's pool size (3.7).
import { isBuggyIPv4, type Cidr } from '../net/address.js';

const USABLE_PER_24 = 254n;

export class CidrSlots {
  readonly cidr: Cidr;
  readonly avoidBuggyIPs: boolean;
  /** First and last slot; the range is empty when firstSlot > lastSlot (e.g. 1.2.3.0/32 avoiding buggy IPs). */
  readonly firstSlot: bigint;
  readonly lastSlot: bigint;
  private readonly compressed: boolean;

  constructor(cidr: Cidr, avoidBuggyIPs: boolean) {
    this.cidr = cidr;
    this.avoidBuggyIPs = avoidBuggyIPs && cidr.family === 4;
    this.compressed = this.avoidBuggyIPs;
    if (!this.compressed) {
      this.firstSlot = cidr.first;
      this.lastSlot = cidr.last;
      return;
    }
    // A CIDR is aligned, so at most two addresses at each end are .0/.255.
    let lo = cidr.first;
    while (lo <= cidr.last && isBuggyIPv4(4, lo)) lo++;
    let hi = cidr.last;
    while (hi >= lo && isBuggyIPv4(4, hi)) hi--;
    if (lo > hi) {
      this.firstSlot = 1n;
      this.lastSlot = 0n;
    } else {
      this.firstSlot = compressedSlot(lo);
      this.lastSlot = compressedSlot(hi);
    }
  }

  /** Number of allocatable addresses. */
  get size(): bigint {
    return this.lastSlot >= this.firstSlot ? this.lastSlot - this.firstSlot + 1n : 0n;
  }

  /** Whether the address belongs to this CIDR and may be handed out (not .0/.255 under avoidBuggyIPs). */
  allows(value: bigint): boolean {
    if (value < this.cidr.first || value > this.cidr.last) return false;
    return !(this.avoidBuggyIPs && isBuggyIPv4(4, value));
  }

  /** Slot of an allowed address. */
  slotOf(value: bigint): bigint {
    return this.compressed ? compressedSlot(value) : value;
  }

  /** Address of a slot in [firstSlot, lastSlot]. */
  addressOf(slot: bigint): bigint {
    if (!this.compressed) return slot;
    return ((slot / USABLE_PER_24) << 8n) | ((slot % USABLE_PER_24) + 1n);
  }
}

/** Rank of a non-.0/.255 IPv4 address among all such addresses. */
function compressedSlot(value: bigint): bigint {
  return (value >> 8n) * USABLE_PER_24 + (value & 0xffn) - 1n;
}
