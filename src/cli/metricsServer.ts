// The Prometheus endpoint of a process (/metrics) plus its probes: /healthz (liveness: the event
// loop answers) and /readyz (readiness: the component says it is ready; 503 with the reason if not).
import { createServer, type Server } from 'node:http';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';

export interface HealthChecks {
  /** undefined when ready, otherwise why not (the body of the 503). */
  ready(): string | undefined;
}

export function serveMetrics(registry: Registry, host: string, port: number, log: Logger, health?: HealthChecks): Server | undefined {
  if (port <= 0) return undefined;
  const srv = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (path === '/metrics') {
      registry.metrics().then((text) => res.writeHead(200, { 'Content-Type': registry.contentType }).end(text), () => res.writeHead(500).end());
    } else if (path === '/healthz' || path === '/livez') {
      res.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok');
    } else if (path === '/readyz') {
      let notReady: string | undefined;
      try {
        notReady = health?.ready();
      } catch (e) {
        notReady = `readiness check failed: ${(e as Error).message}`;
      }
      if (notReady === undefined) res.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok');
      else res.writeHead(503, { 'Content-Type': 'text/plain' }).end(`not ready: ${notReady}`);
    } else {
      res.writeHead(404).end();
    }
  });
  srv.on('error', (e) => log.error({ err: String(e) }, `metrics endpoint could not listen on ${host}:${port}; pass --metrics-port 0 to disable it`));
  srv.listen(port, host);
  return srv;
}
