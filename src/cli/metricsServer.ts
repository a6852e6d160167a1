// The Prometheus endpoint of a process (/metrics) plus its health probes (/healthz, /readyz).
import { createServer } from 'node:http';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';

export function serveMetrics(registry: Registry, host: string, port: number, log: Logger): void {
  if (port <= 0) return;
  const srv = createServer((req, res) => {
    if (req.url === '/metrics') {
      registry.metrics().then((text) => res.writeHead(200, { 'Content-Type': registry.contentType }).end(text), () => res.writeHead(500).end());
    } else if (req.url === '/healthz' || req.url === '/readyz') {
      res.writeHead(200).end('ok');
    } else {
      res.writeHead(404).end();
    }
  });
  srv.on('error', (e) => log.error({ err: String(e) }, `metrics endpoint could not listen on ${host}:${port}; pass --metrics-port 0 to disable it`));
  srv.listen(port, host);
}
