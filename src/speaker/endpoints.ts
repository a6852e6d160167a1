// Endpoints per Service from EndpointSlices, with MetalLB's "serving" test (internal/k8s/epslices):
// ready nil or true, or serving true. One place for the speaker and `ironlb status`.
import type { V1EndpointSlice } from '@kubernetes/client-node';
import type { EndpointFacts } from './election.js';

/** "namespace/service" -> its endpoints, from every slice labelled kubernetes.io/service-name. */
export function endpointIndex(slices: Iterable<V1EndpointSlice>): Map<string, EndpointFacts[]> {
  const index = new Map<string, EndpointFacts[]>();
  for (const slice of slices) {
    const service = slice.metadata?.labels?.['kubernetes.io/service-name'];
    if (!service) continue;
    const key = `${slice.metadata?.namespace ?? ''}/${service}`;
    let list = index.get(key);
    if (!list) index.set(key, (list = []));
    for (const ep of slice.endpoints ?? []) {
      const ready = ep.conditions?.ready;
      const serving = ready === undefined || ready === null || ready === true || ep.conditions?.serving === true;
      list.push({ nodeName: ep.nodeName, serving });
    }
  }
  return index;
}
