// GTSM for BFD (RFC 5881 §5: single hop packets must arrive with TTL/hop limit 255; RFC 5883 and
// BFDProfile minimumTtl for multihop). Node's dgram cannot report a datagram's TTL, so the check
// runs in the kernel: an nftables table owned by the speaker drops offending packets before they
// reach our sockets. Pure rendering here; bfdManager.ts applies it with `nft -f -`.
import { canonicalIp, ipFamily } from '../../net/address.js';

export const SINGLE_HOP_PORT = 3784;
export const MULTIHOP_PORT = 4784;
export const TTL_GUARD_TABLE = 'ironlb_bfd';

export interface MultihopTtlRule {
  readonly peer: string;
  readonly minimumTtl: number;
}

/** The whole table, replaced atomically each time (the delete is a no-op when absent). */
export function renderTtlGuard(multihop: readonly MultihopTtlRule[]): string {
  const lines = [
    `table inet ${TTL_GUARD_TABLE}`,
    `delete table inet ${TTL_GUARD_TABLE}`,
    `table inet ${TTL_GUARD_TABLE} {`,
    '  chain input {',
    '    type filter hook input priority -10; policy accept;',
    `    udp dport ${SINGLE_HOP_PORT} ip ttl != 255 counter drop`,
    `    udp dport ${SINGLE_HOP_PORT} ip6 hoplimit != 255 counter drop`,
  ];
  for (const r of multihop) {
    if (!Number.isInteger(r.minimumTtl) || r.minimumTtl < 1 || r.minimumTtl > 255) throw new Error(`BFD multihop peer ${r.peer}: minimumTtl ${r.minimumTtl} is outside 1..255`);
    const peer = canonicalIp(r.peer);
    if (peer === undefined) throw new Error(`BFD multihop peer "${r.peer}" is not an IP address`);
    if (r.minimumTtl <= 1) continue;
    lines.push(
      ipFamily(peer) === 4
        ? `    ip saddr ${peer} udp dport ${MULTIHOP_PORT} ip ttl < ${r.minimumTtl} counter drop`
        : `    ip6 saddr ${peer} udp dport ${MULTIHOP_PORT} ip6 hoplimit < ${r.minimumTtl} counter drop`,
    );
  }
  lines.push('  }', '}', '');
  return lines.join('\n');
}
