// Random and mutated JSON values for the decoders that take parsed JSON (OVSDB datums and updates,
// Kubernetes objects for config parsing).
import type { Rng } from './random.js';

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const STRINGS = ['', 'uuid', 'set', 'map', 'named-uuid', 'a', '0', '-1', 'true', 'null', '192.0.2.0/24', '2001:db8::/64', '192.0.2.10-192.0.2.1', 'metallb-system', '64512:100', 'large:1:2:3', '1s', '90s', 'x'.repeat(300), '\u0000', '☃', '00000000-0000-0000-0000-000000000001'];
const NUMBERS = [0, 1, -1, 2, 3, 0.5, 255, 256, 4095, 4096, 65535, 65536, 2 ** 31, 2 ** 32, 2 ** 32 - 1, 2 ** 53, -(2 ** 53), 1e308, Number.MIN_VALUE];

export function randomJson(rng: Rng, depth = 3, keys: readonly string[] = []): Json {
  const r = rng.int(depth > 0 ? 8 : 5);
  switch (r) {
    case 0: return null;
    case 1: return rng.chance(0.5);
    case 2: return rng.chance(0.7) ? rng.pick(NUMBERS) : rng.u32() - 2 ** 31;
    case 3: return rng.pick(STRINGS);
    case 4: return rng.chance(0.5) ? rng.pick(keys.length ? keys : STRINGS) : String.fromCharCode(...rng.bytes(rng.int(8)));
    case 5:
    case 6: return Array.from({ length: rng.int(4) }, () => randomJson(rng, depth - 1, keys));
    default: {
      const o: Record<string, Json> = {};
      for (let i = rng.int(4); i > 0; i--) o[rng.chance(0.7) && keys.length ? rng.pick(keys) : rng.pick(STRINGS)] = randomJson(rng, depth - 1, keys);
      return o;
    }
  }
}

function clone(v: Json): Json {
  return v === null || typeof v !== 'object' ? v : JSON.parse(JSON.stringify(v));
}

/** All paths to the value's subtrees (objects and arrays included). */
function paths(v: Json, prefix: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  out.push(prefix);
  if (Array.isArray(v)) v.forEach((c, i) => paths(c, [...prefix, i], out));
  else if (v !== null && typeof v === 'object') for (const k of Object.keys(v)) paths(v[k]!, [...prefix, k], out);
  return out;
}

/** One structural change: replace a subtree, delete a key/entry, duplicate an entry, add an unknown key, flip a type. */
export function mutateJson(rng: Rng, value: Json, keys: readonly string[] = []): Json {
  const root = clone(value);
  const all = paths(root);
  const path = rng.pick(all);
  if (path.length === 0) return randomJson(rng, 3, keys);
  let parent: any = root;
  for (const p of path.slice(0, -1)) parent = parent[p];
  const last = path[path.length - 1]!;
  const cur = parent[last] as Json;
  switch (rng.int(7)) {
    case 0:
      parent[last] = randomJson(rng, 2, keys);
      break;
    case 1:
      if (Array.isArray(parent)) parent.splice(last as number, 1);
      else delete parent[last];
      break;
    case 2:
      if (Array.isArray(parent)) parent.splice(last as number, 0, ...Array.from({ length: rng.range(1, 4) }, () => clone(cur)));
      else parent[last] = [cur, clone(cur)];
      break;
    case 3:
      if (cur !== null && typeof cur === 'object' && !Array.isArray(cur)) (cur as Record<string, Json>)[rng.pick(keys.length ? keys : ['unknownField'])] = randomJson(rng, 1, keys);
      else parent[last] = randomJson(rng, 1, keys);
      break;
    case 4:
      parent[last] = typeof cur === 'string' ? (rng.chance(0.5) ? Number(cur) || cur.length : cur.slice(0, rng.int(cur.length + 1)) + rng.pick(['', '/', '-', ':', '0', 'x', ' '])) : typeof cur === 'number' ? String(cur) : rng.pick(STRINGS);
      break;
    case 5:
      parent[last] = typeof cur === 'number' ? rng.pick(NUMBERS) * (rng.chance(0.3) ? -1 : 1) : null;
      break;
    default:
      parent[last] = Array.isArray(cur) ? {} : [cur];
  }
  return root;
}
