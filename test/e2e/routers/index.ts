// Router harnesses for BGP interop tests: BIRD 2, FRR, GoBGP in network namespaces.
import { startBird } from './bird.js';
import { startFrr } from './frr.js';
import { startGobgp } from './gobgp.js';
import type { RouterKind, RouterSpec, RunningRouter } from './types.js';

export * from './types.js';
export { kernelRoutes, removeTestNamespaces, removeStaleTestNamespaces, useNamespaceTag, addNamespace, link, enableForwarding, nsName, inNs, tryInNs, TEST_NS_PREFIX } from './netns.js';

export function startRouter(kind: RouterKind, spec: RouterSpec): Promise<RunningRouter> {
  switch (kind) {
    case 'bird':
      return startBird(spec);
    case 'frr':
      return startFrr(spec);
    case 'gobgp':
      return startGobgp(spec);
  }
}

export const ROUTER_KINDS: readonly RouterKind[] = ['bird', 'frr', 'gobgp'];
