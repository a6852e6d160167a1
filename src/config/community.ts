// BGP community text: standard "A:B" (RFC 1997, two 16-bit numbers), large "large:A:B:C"
// (RFC 8092, three 32-bit numbers), or otherwise the name of a Community alias (MetalLB treats any
// text without ":" as an alias).
import type { Community } from './model.js';

export type CommunityText =
  | { readonly kind: 'value'; readonly community: Community }
  | { readonly kind: 'alias'; readonly alias: string }
  | { readonly kind: 'invalid'; readonly reason: string };

const FORMAT_HINT = 'write a standard community as "A:B" (each 0-65535), a large one as "large:A:B:C" (each 0-4294967295)';

function decimal(text: string, max: number): number | undefined {
  if (!/^\d{1,10}$/.test(text)) return undefined;
  const n = Number(text);
  return n <= max ? n : undefined;
}

/** Parses a community literal (no alias lookup). */
export function parseCommunityValue(text: string): { ok: true; community: Community } | { ok: false; reason: string } {
  const s = text.trim();
  if (/^large:/i.test(s)) {
    const parts = s.slice('large:'.length).split(':');
    const nums = parts.map((p) => decimal(p, 0xffffffff));
    if (parts.length !== 3 || nums.some((n) => n === undefined)) {
      return { ok: false, reason: `invalid large community "${text}": ${FORMAT_HINT}` };
    }
    const [global, local1, local2] = nums as [number, number, number];
    return { ok: true, community: { kind: 'large', global, local1, local2 } };
  }
  const parts = s.split(':');
  const nums = parts.map((p) => decimal(p, 0xffff));
  if (parts.length !== 2 || nums.some((n) => n === undefined)) {
    return { ok: false, reason: `invalid community "${text}": ${FORMAT_HINT}` };
  }
  const [high, low] = nums as [number, number];
  return { ok: true, community: { kind: 'standard', value: high * 0x10000 + low } };
}

/** Classifies an entry of BGPAdvertisement.spec.communities. */
export function classifyCommunityText(text: string): CommunityText {
  if (!text.includes(':')) return { kind: 'alias', alias: text };
  const parsed = parseCommunityValue(text);
  if (!parsed.ok) return { kind: 'invalid', reason: `${parsed.reason}, or the name of a Community alias (aliases contain no ":")` };
  return { kind: 'value', community: parsed.community };
}

export function formatCommunity(c: Community): string {
  if (c.kind === 'large') return `large:${c.global}:${c.local1}:${c.local2}`;
  return `${Math.floor(c.value / 0x10000)}:${c.value % 0x10000}`;
}

export function sameCommunity(a: Community, b: Community): boolean {
  return formatCommunity(a) === formatCommunity(b);
}
