// Community objects -> one alias table. Alias names are global across all Community objects
// (MetalLB: "duplicate definition of community").
import { parseCommunityValue } from './community.js';
import type { Community } from './model.js';
import type { ParsedObject } from './parsedObject.js';
import type { ConfigProblems } from './problems.js';
import type { CommunitySpec } from './schemas.js';

export function buildCommunityAliases(objects: readonly ParsedObject<CommunitySpec>[], problems: ConfigProblems): Map<string, Community> {
  const aliases = new Map<string, Community>();
  const definedIn = new Map<string, string>();
  for (const obj of objects) {
    (obj.spec.communities ?? []).forEach((entry, i) => {
      const previous = definedIn.get(entry.name);
      if (previous !== undefined) {
        const where = previous === obj.ref.name ? 'earlier in this object' : `in Community "${previous}"`;
        problems.error(obj.ref, `spec.communities[${i}].name`, `duplicate definition of community alias "${entry.name}" (already defined ${where}); keep one definition`);
        return;
      }
      definedIn.set(entry.name, obj.ref.name);
      const parsed = parseCommunityValue(entry.value);
      if (parsed.ok) aliases.set(entry.name, parsed.community);
    });
  }
  return aliases;
}
