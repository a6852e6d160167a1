// Loads one of the project's N-API addons (native/<name>, built by native/build.sh), once,
// with an error that says how to build it.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { projectRoot } from '../lab/projectRoot.js';

const loaded = new Map<string, unknown>();

export function addonRelativePath(name: string): string {
  return `native/${name}/build/Release/${name}.node`;
}

export function loadNativeAddon<T>(name: string, what: string): T {
  const cached = loaded.get(name);
  if (cached) return cached as T;
  const file = join(projectRoot(), addonRelativePath(name));
  if (!existsSync(file)) {
    throw new Error(`the ${what} addon is not built: ${file} is missing; run \`npm ci\` or \`npm run build\` (needs python3, make, a C compiler and Node headers)`);
  }
  let addon: T;
  try {
    addon = createRequire(import.meta.url)(file) as T;
  } catch (e) {
    throw new Error(`cannot load the ${what} addon ${file}: ${(e as Error).message}; rebuild it with \`npm run build\``);
  }
  loaded.set(name, addon);
  return addon;
}
