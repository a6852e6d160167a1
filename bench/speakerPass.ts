// The layer-2 election pass a speaker runs on every change (src/speaker/announcements.ts): every
// LoadBalancer Service against every node. Prints ms per pass for 1,000 and 10,000 Services on 3
// and 100 nodes (median of 7 passes after 2 warm-ups), and the ratio 10,000 / 1,000. In-process,
// pure; the lab's own passes (with the API watch, status writes and ARP) are in bench/layer2.ts.
// Run alone: `npm run bench -- speakerPass`.
import { pathToFileURL } from 'node:url';
import { parseConfig } from '../src/config/index.js';
import { announcementsFor, type ClusterSnapshot, type ServiceSnapshot } from '../src/speaker/announcements.js';

const parsed = parseConfig({
  pools: [{ apiVersion: 'metallb.io/v1beta1', kind: 'IPAddressPool', metadata: { name: 'spread', namespace: 'metallb-system' }, spec: { addresses: ['2001:db8:1::5c:0/112', '198.51.100.0/24'] } }],
  l2Advertisements: [{ apiVersion: 'metallb.io/v1beta1', kind: 'L2Advertisement', metadata: { name: 'all', namespace: 'metallb-system' }, spec: { ipAddressPools: ['spread'] } }],
  bgpAdvertisements: [], bgpPeers: [], bfdProfiles: [], communities: [],
});
if (!parsed.ok) throw new Error(`bench: config rejected: ${JSON.stringify(parsed.errors)}`);
const config = parsed.config;

function snapshot(services: number, nodeCount: number): ClusterSnapshot {
  const nodes = Array.from({ length: nodeCount }, (_, i) => ({ name: `node-${i}`, labels: { 'kubernetes.io/hostname': `node-${i}` }, networkUnavailable: false }));
  const list: ServiceSnapshot[] = Array.from({ length: services }, (_, i) => ({
    key: `bench/svc-${i}`, namespace: 'bench', name: `svc-${i}`, labels: {},
    ingressIps: [`2001:db8:1::5c:${i.toString(16)}`],
    // ETP Local with endpoints on three nodes: every Service is a real election among three.
    externalTrafficPolicyLocal: i % 2 === 0, sharesIp: false,
    endpoints: [0, 1, 2].map((k) => ({ nodeName: `node-${(i + k) % nodeCount}`, serving: true })),
  }));
  return { config, services: list, nodes, aliveNodes: new Set(nodes.map((n) => n.name)), ignoreExcludeLabel: false };
}

function msPerPass(services: number, nodes: number): number {
  const snap = snapshot(services, nodes);
  const times: number[] = [];
  for (let r = 0; r < 9; r++) {
    const t = performance.now();
    announcementsFor('node-0', snap);
    if (r >= 2) times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return Number((times[Math.floor(times.length / 2)] as number).toFixed(1));
}

export async function benchSpeakerPass(): Promise<Record<string, number>> {
  const r: Record<string, number> = {};
  for (const nodes of [3, 100]) {
    for (const services of [1_000, 10_000]) {
      r[`pass ${services} Services ${nodes} nodes ms`] = msPerPass(services, nodes);
    }
    r[`ratio 10000/1000 on ${nodes} nodes`] = Number((r[`pass 10000 Services ${nodes} nodes ms`]! / r[`pass 1000 Services ${nodes} nodes ms`]!).toFixed(1));
    console.log(`speaker pass on ${nodes} nodes: 1,000 Services ${r[`pass 1000 Services ${nodes} nodes ms`]} ms, 10,000 Services ${r[`pass 10000 Services ${nodes} nodes ms`]} ms (x${r[`ratio 10000/1000 on ${nodes} nodes`]})`);
  }
  return r;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(JSON.stringify(await benchSpeakerPass(), null, 2));
}
