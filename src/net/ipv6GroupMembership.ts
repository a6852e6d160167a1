// IPv6 multicast group membership at the IP layer (IPV6_JOIN_GROUP through a UDP socket) on one
// interface. The kernel then sends MLD reports for the group, so MLD-snooping switches forward
// Neighbor Solicitations for our VIPs to this port; PACKET_ADD_MEMBERSHIP on the AF_PACKET socket
// only opens the NIC's filter and sends no report (MetalLB's responder joins the same groups).
import { createSocket, type Socket } from 'node:dgram';

export class Ipv6GroupMembership {
  private readonly socket: Socket;
  private readonly joined = new Set<string>();

  constructor(private readonly ifname: string) {
    this.socket = createSocket({ type: 'udp6', reuseAddr: true });
    // Errors after creation (none expected: nothing is ever sent) must not crash the process.
    this.socket.on('error', () => undefined);
  }

  /** Joins `group` (e.g. ff02::1:ff00:10) on the interface; throws with the kernel's reason. */
  join(group: string): void {
    if (this.joined.has(group)) return;
    this.socket.addMembership(group, `::%${this.ifname}`);
    this.joined.add(group);
  }

  leave(group: string): void {
    if (!this.joined.delete(group)) return;
    this.socket.dropMembership(group, `::%${this.ifname}`);
  }

  /** Closing the socket leaves every group (the kernel sends MLD done messages). */
  close(): void {
    this.joined.clear();
    try {
      this.socket.close();
    } catch {
      // already closed
    }
  }
}
