import { createServer } from 'node:http';
import { Controller } from '../controller/controller.js';
import { ControllerMetrics } from '../controller/metrics.js';
import { loadKubeConfig } from '../k8s/client.js';
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
  const port = Number(flags.metricsPort);
  if (port > 0) {
    const srv = createServer((req, res) => {
      if (req.url === '/metrics') {
        metrics.registry.metrics().then((text) => {
          res.writeHead(200, { 'Content-Type': metrics.registry.contentType });
          res.end(text);
        }, () => res.writeHead(500).end());
      } else if (req.url === '/healthz' || req.url === '/readyz') {
        res.writeHead(200).end('ok');
      } else {
        res.writeHead(404).end();
      }
    });
    srv.on('error', (e) => log.error({ err: String(e) }, `metrics endpoint could not listen on ${flags.metricsHost}:${port}; pass --metrics-port 0 to disable it`));
    srv.listen(port, flags.metricsHost);
  }
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
