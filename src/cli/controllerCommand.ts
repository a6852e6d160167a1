import { Controller } from '../controller/controller.js';
import { ControllerMetrics } from '../controller/metrics.js';
import { loadKubeConfig } from '../k8s/client.js';
import { loadKubeRest } from '../k8s/rest.js';
import { LeaderElector } from '../k8s/leaderElection.js';
import { checkLeaseTiming, type LeaseTiming } from '../k8s/leaseLogic.js';
import { WebhookServer } from '../webhook/server.js';
import { serveMetrics } from './metricsServer.js';
import { makeLogger } from '../log.js';

interface ControllerFlags {
  kubeconfig?: string;
  namespace: string;
  lbClass?: string;
  logLevel: string;
  metricsPort: string;
  metricsHost: string;
  mlSecretName: string;
  webhookPort: string;
  webhookHost: string;
  webhookSecret: string;
  certServiceName: string;
  webhookConfiguration: string;
  webhookCertIp: string[];
  disableCertRotation?: boolean;
  leaderElect?: boolean;
  leaderElectLeaseName: string;
  leaderElectLeaseDuration: string;
  leaderElectRenewDeadline: string;
  leaderElectRetryPeriod: string;
}

function seconds(flag: string, value: string): number {
  const n = Number(value.replace(/s$/, ''));
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${flag} must be a positive number of seconds (like 15 or 15s), not "${value}"`);
  return n * 1000;
}

export async function runController(flags: ControllerFlags): Promise<void> {
  const log = makeLogger('controller', flags.logLevel);
  const kc = loadKubeConfig(flags.kubeconfig);
  const rest = loadKubeRest(flags.kubeconfig);
  const metrics = new ControllerMetrics();
  const webhookPort = Number(flags.webhookPort);
  if (!Number.isInteger(webhookPort) || webhookPort < 0 || webhookPort > 65535) throw new Error(`--webhook-port must be a port number (0 disables the webhook), not "${flags.webhookPort}"`);
  const timing: LeaseTiming = {
    leaseDurationMs: seconds('leader-elect-lease-duration', flags.leaderElectLeaseDuration),
    renewDeadlineMs: seconds('leader-elect-renew-deadline', flags.leaderElectRenewDeadline),
    retryPeriodMs: seconds('leader-elect-retry-period', flags.leaderElectRetryPeriod),
  };
  const badTiming = flags.leaderElect ? checkLeaseTiming(timing) : undefined;
  if (badTiming) throw new Error(`leader election: ${badTiming}; adjust --leader-elect-lease-duration, --leader-elect-renew-deadline, --leader-elect-retry-period`);

  const controller = new Controller(kc, rest, { namespace: flags.namespace, lbClass: flags.lbClass, log, metrics, memberlistSecretName: flags.mlSecretName });
  // Ready once the caches are synced and the webhook serves: the leader and a standby alike (a standby serves the
  // webhook from the same caches and must be ready to take over).
  let ready = false;
  serveMetrics(metrics.registry, flags.metricsHost, Number(flags.metricsPort), log, {
    ready: () => (ready ? undefined : 'caches not synced (or the webhook not serving) yet'),
  });
  const webhook = webhookPort
    ? new WebhookServer(kc, {
        port: webhookPort, host: flags.webhookHost, namespace: flags.namespace, secretName: flags.webhookSecret,
        serviceName: flags.certServiceName, webhookConfigurationName: flags.webhookConfiguration, certIps: flags.webhookCertIp,
        rotateCertificate: !flags.disableCertRotation, current: () => controller.configResources(), log: log.child({ part: 'webhook' }),
      })
    : undefined;
  const elector = flags.leaderElect
    ? new LeaderElector(kc, {
        namespace: flags.namespace, leaseName: flags.leaderElectLeaseName, timing, log,
        onStartedLeading: () => void controller.startReconciling(),
        // Exit rather than try to step down in place: the restarted process is a clean standby
        // (client-go controllers do the same), and nothing half-written survives.
        onStoppedLeading: () => {
          log.error('lost the leader lease; exiting so that only the new leader writes');
          process.exit(1);
        },
      })
    : undefined;

  const shutdown = () => {
    log.info('stopping');
    controller.stop();
    webhook?.stop();
    // A clean stop hands the lease over at once instead of after its duration.
    void (elector?.stop() ?? Promise.resolve()).finally(() => process.exit(0));
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
  log.info({ namespace: flags.namespace, lbClass: flags.lbClass ?? null, webhookPort, leaderElect: !!flags.leaderElect }, 'controller starting');
  await controller.startCaches();
  // The webhook is served by every replica, leader or not: it only reads the caches.
  if (webhook) {
    await webhook.start().catch((e: unknown) => {
      log.error({ err: e instanceof Error ? e.message : String(e) }, 'the validating webhook could not start');
      throw e;
    });
  }
  ready = true;
  if (elector) elector.start();
  else await controller.startReconciling();
}
