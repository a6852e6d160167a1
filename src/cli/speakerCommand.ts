import { loadKubeRest } from '../k8s/rest.js';
import { startCpuProfileFromEnv } from './cpuProfile.js';
import { serveMetrics } from './metricsServer.js';
import { makeLogger } from '../log.js';
import { L2Announcer } from '../speaker/l2/announcer.js';
import { makeLiveness } from '../speaker/livenessFactory.js';
import { SpeakerMetrics } from '../speaker/metrics.js';
import { BgpMetrics, BgpSpeaker } from '../speaker/bgp/bgpSpeaker.js';
import { Speaker } from '../speaker/speaker.js';
import { parseGoDuration } from '../config/goDuration.js';

export interface SpeakerFlags {
  nodeName?: string;
  kubeconfig?: string;
  namespace: string;
  lbClass?: string;
  logLevel: string;
  metricsPort: string;
  metricsHost: string;
  ignoreExcludeLb?: boolean;
  excludeInterfaces?: string;
  mlBindAddr?: string;
  mlBindPort: string;
  mlSecretName: string;
  ovsdb?: string;
  partitionGuard?: boolean;
  underlayVerifyAfter: string;
}

export async function runSpeaker(flags: SpeakerFlags): Promise<void> {
  startCpuProfileFromEnv('speaker');
  const nodeName = flags.nodeName ?? process.env.METALLB_NODE_NAME;
  if (!nodeName) {
    process.stderr.write('ironlb speaker: the node name is missing: pass --node-name or set METALLB_NODE_NAME (the DaemonSet sets it from spec.nodeName)\n');
    process.exit(2);
  }
  const verifyAfterSeconds = parseGoDuration(flags.underlayVerifyAfter ?? '30s');
  if (verifyAfterSeconds === undefined || verifyAfterSeconds < 0) {
    process.stderr.write(`ironlb speaker: --underlay-verify-after "${flags.underlayVerifyAfter}" is not a non-negative Go duration; use e.g. 30s or 1m\n`);
    process.exit(2);
  }
  const log = makeLogger('speaker', flags.logLevel).child({ node: nodeName });
  // Our own small client, not client-node: it saves the speaker about 70 MiB (src/k8s/rest.ts).
  const api = loadKubeRest(flags.kubeconfig);
  // The announcer reports its first gratuitous frame per takeover to the metrics (announce latency).
  let metrics: SpeakerMetrics | undefined;
  const announcer = new L2Announcer({
    logger: log, onGratuitous: (ip) => metrics?.gratuitousSent(ip),
    ...(flags.excludeInterfaces !== undefined ? { excludeInterfaces: flags.excludeInterfaces.split(',').filter(Boolean) } : {}),
  });
  metrics = new SpeakerMetrics(() => announcer.counters());
  const speakerMetrics = metrics;
  const bgp = new BgpSpeaker({
    nodeName, log: log.child({ protocol: 'bgp' }), metrics: new BgpMetrics(speakerMetrics.registry),
    onStateChange: (peer, state, reason) => log.info({ peer, state, reason }, 'BGP session state'),
  });
  const speaker = new Speaker(api, announcer, { nodeName, namespace: flags.namespace, lbClass: flags.lbClass, ignoreExcludeLabel: flags.ignoreExcludeLb ?? false, log, metrics: speakerMetrics, ...(flags.ovsdb ? { ovsdbEndpoint: flags.ovsdb } : {}), partitionGuard: flags.partitionGuard !== false, underlayVerifyAfterMs: verifyAfterSeconds * 1000 }, bgp);
  serveMetrics(speakerMetrics.registry, flags.metricsHost, Number(flags.metricsPort), log, {
    ready: () => (speaker.isReady() ? undefined : 'caches not synced or membership not settled yet'),
  });
  let stopping = false;
  const shutdown = async () => {
    if (stopping) return;
    stopping = true;
    log.info('stopping: leaving the gossip so peers take over at once');
    await speaker.shutdown();
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown());
  process.on('SIGINT', () => void shutdown());
  await speaker.start((s) =>
    makeLiveness({
      nodeName, log, nodes: () => s.nodes(), secretData: (n: string) => s.secretData(n), secretName: flags.mlSecretName,
      bindAddr: flags.mlBindAddr, bindPort: Number(flags.mlBindPort), onMembershipEvent: (e) => speakerMetrics.noteMembershipEvent(e),
    }),
  );
}
