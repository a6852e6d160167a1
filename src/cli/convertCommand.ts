import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { legacyToResources, parseConfig, resourcesToYaml } from '../config/index.js';
import { formatConfigError } from '../config/model.js';

/** Accepts a ConfigMap manifest (kind: ConfigMap, data.config) or the raw `config` text. */
export function legacyConfigText(input: string): { text: string; namespace?: string } {
  const doc = parseDocument(input).toJS() as { kind?: string; metadata?: { namespace?: string }; data?: { config?: string } } | null;
  if (doc && typeof doc === 'object' && doc.kind === 'ConfigMap') {
    if (typeof doc.data?.config !== 'string') throw new Error('the ConfigMap has no data.config key: MetalLB reads its configuration from data.config');
    return { text: doc.data.config, namespace: doc.metadata?.namespace };
  }
  return { text: input };
}

export async function runConvert(file: string | undefined, flags: { namespace?: string }): Promise<void> {
  const input = readFileSync(file ?? 0, 'utf8');
  let source: { text: string; namespace?: string };
  try {
    source = legacyConfigText(input);
  } catch (e) {
    console.error(`ironlb convert: ${(e as Error).message}`);
    process.exit(1);
  }
  const namespace = flags.namespace ?? source.namespace ?? 'metallb-system';
  const legacy = legacyToResources(source.text, namespace);
  if (!legacy.ok) {
    for (const e of legacy.errors) console.error(`ironlb convert: ${formatConfigError(e)}`);
    process.exit(1);
  }
  const parsed = parseConfig(legacy.resources);
  for (const w of parsed.warnings) console.error(`ironlb convert: warning: ${formatConfigError(w)}`);
  if (!parsed.ok) {
    for (const e of parsed.errors) console.error(`ironlb convert: ${formatConfigError(e)}`);
    process.exit(1);
  }
  process.stdout.write(resourcesToYaml(legacy.resources));
}
