// The speaker must not load @kubernetes/client-node (about 70 MiB of resident memory, see
// src/k8s/rest.ts): walk the static and dynamic imports from its command module and look for
// any import of the package that is not type-only.
import { readFileSync, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(__dirname, '..', '..');

/** Module specifiers a file imports at run time (type-only imports are erased by tsc). */
export function runtimeImports(source: string): string[] {
  const found: string[] = [];
  const statement = /(?:^|\n)\s*(import|export)\s+([\s\S]*?)\s+from\s+'([^']+)'/g;
  for (const m of source.matchAll(statement)) {
    const clause = (m[2] ?? '').trim();
    if (clause.startsWith('type ')) continue;
    const braces = /^\{([\s\S]*)\}$/.exec(clause);
    if (braces) {
      const names = (braces[1] ?? '').split(',').map((n) => n.trim()).filter(Boolean);
      if (names.length > 0 && names.every((n) => n.startsWith('type '))) continue;
    }
    found.push(m[3] as string);
  }
  for (const m of source.matchAll(/(?:^|\n)\s*import\s+'([^']+)'/g)) found.push(m[1] as string);
  for (const m of source.matchAll(/import\(\s*'([^']+)'\s*\)/g)) found.push(m[1] as string);
  return found;
}

/** Every project file reached from `entry`, with the chain that reached a package. */
function packagesReached(entry: string): Map<string, string[]> {
  const reached = new Map<string, string[]>();
  const seen = new Set<string>();
  const walk = (file: string, chain: string[]) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const spec of runtimeImports(readFileSync(file, 'utf8'))) {
      if (spec.startsWith('.')) {
        const ts = join(dirname(file), spec.replace(/\.js$/, '.ts'));
        if (existsSync(ts)) walk(ts, [...chain, ts.slice(ROOT.length + 1)]);
      } else if (!reached.has(spec)) {
        reached.set(spec, chain);
      }
    }
  };
  walk(join(ROOT, entry), [entry]);
  return reached;
}

describe('speaker imports', () => {
  it('recognises type-only and value imports', () => {
    expect(runtimeImports("import type { A } from 'x';\nimport { type B, type C } from 'y';\nimport { D, type E } from 'z';\nexport { F } from 'w';\nconst m = await import('v');")).toEqual(['z', 'w', 'v']);
  });

  it('the speaker command never loads @kubernetes/client-node', () => {
    const reached = packagesReached('src/cli/speakerCommand.ts');
    expect(reached.size).toBeGreaterThan(3); // the walk did follow the graph
    expect(reached.has('pino')).toBe(true);
    expect(reached.get('@kubernetes/client-node'), 'import chain').toBeUndefined();
  });

  it('the command dispatcher loads each command lazily', () => {
    const reached = packagesReached('src/cli/main.ts');
    // main.ts itself reaches the package only through the lazily loaded commands, which the walk
    // follows too; what matters is that main.ts imports no command module statically.
    const staticCommandImports = runtimeImports(readFileSync(join(ROOT, 'src/cli/main.ts'), 'utf8').replace(/import\(\s*'[^']+'\s*\)/g, ''))
      .filter((s) => s.endsWith('Command.js'));
    expect(staticCommandImports).toEqual([]);
    expect(reached.has('commander')).toBe(true);
  });
});
