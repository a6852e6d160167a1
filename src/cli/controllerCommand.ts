import { Controller } from '../controller/controller.js';
import { ControllerMetrics } from '../controller/metrics.js';
import { loadKubeConfig } from '../k8s/client.js';
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
}

export async function runController(flags: ControllerFlags): Promise<void> {
  const log = makeLogger('controller', flags.logLevel);
  const kc = loadKubeConfig(flags.kubeconfig);
  const metrics = new ControllerMetrics();
  const controller = new Controller(kc, { namespace: flags.namespace, lbClass: flags.lbClass, log, metrics, memberlistSecretName: flags.mlSecretName });
  serveMetrics(metrics.registry, flags.metricsHost, Number(flags.metricsPort), log);
  const shutdown = () => {
    log.info('stopping');
    controller.stop();
    process.exit(0);
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
  log.info({ namespace: flags.namespace, lbClass: flags.lbClass ?? null }, 'controller starting');
  await controller.start();
}
