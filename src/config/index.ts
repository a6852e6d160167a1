// Public entry point of the configuration module.
export { parseConfig, type ParseOutcome } from './parse.js';
export type { ConfigResources, NodeInput, SecretInput } from './resources.js';
export { legacyToResources, type LegacyOutcome } from './legacy.js';
export { resourcesToYaml, resourcesFromYaml, type YamlResourcesOutcome } from './convert.js';
export { peerTimers } from './peerConfig.js';
export { parseGoDuration, formatGoDuration } from './goDuration.js';
export { formatCommunity } from './community.js';
export type * from './model.js';
export { formatConfigError } from './model.js';
