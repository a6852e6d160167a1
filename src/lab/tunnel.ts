// How processes inside the node namespaces reach the API server, which listens on 127.0.0.1 of
// the host namespace only. A unix socket is a file, so it is reachable from every network
// namespace: the host side listens on <lab>/apiserver.sock and connects to the API server's
// port; each node namespace runs a listener on its own 127.0.0.1:6443 that connects to that
// socket. TLS passes through untouched (the API server's certificate covers 127.0.0.1), and no
// address or route is added anywhere.
//
// Runs standalone (node dist/src/lab/tunnel.js --listen A --connect B) so that it starts in
// ~50 ms, and as `ironlb lab tunnel`.
import { existsSync, rmSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';

/** `tcp:HOST:PORT` or `unix:/path`. */
export type Endpoint = { kind: 'tcp'; host: string; port: number } | { kind: 'unix'; path: string };

export const NODE_APISERVER_PORT = 6443;

export function parseEndpoint(text: string): Endpoint {
  if (text.startsWith('unix:')) {
    const path = text.slice(5);
    if (!path) throw new Error(`"${text}": a unix endpoint needs a path, e.g. unix:/tmp/apiserver.sock`);
    return { kind: 'unix', path };
  }
  const m = /^tcp:(\[[^\]]+\]|[^:]+):(\d+)$/.exec(text);
  const port = m ? Number(m[2]) : NaN;
  if (!m || !(port > 0 && port < 65536)) throw new Error(`"${text}": expected tcp:HOST:PORT (e.g. tcp:127.0.0.1:6443) or unix:/path`);
  return { kind: 'tcp', host: (m[1] ?? '').replace(/^\[|\]$/g, ''), port };
}

export function formatEndpoint(e: Endpoint): string {
  return e.kind === 'unix' ? `unix:${e.path}` : `tcp:${e.host.includes(':') ? `[${e.host}]` : e.host}:${e.port}`;
}

function connect(to: Endpoint): Socket {
  return to.kind === 'unix' ? createConnection({ path: to.path }) : createConnection({ host: to.host, port: to.port });
}

/** Forwards every connection accepted on `listen` to a new connection to `target`, byte for byte. */
export async function startForwarder(listen: Endpoint, target: Endpoint, log: (line: string) => void = () => {}): Promise<Server> {
  if (listen.kind === 'unix' && existsSync(listen.path)) rmSync(listen.path); // left by a killed forwarder
  const server = createServer({ pauseOnConnect: true }, (inbound) => {
    const outbound = connect(target);
    const close = () => {
      inbound.destroy();
      outbound.destroy();
    };
    outbound.once('connect', () => {
      inbound.pipe(outbound);
      outbound.pipe(inbound);
      inbound.resume();
    });
    outbound.on('error', (e) => {
      log(`connecting ${formatEndpoint(target)} failed: ${e.message}`);
      close();
    });
    inbound.on('error', close);
    outbound.on('close', close);
    inbound.on('close', close);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    if (listen.kind === 'unix') server.listen(listen.path, resolve);
    else server.listen(listen.port, listen.host, resolve);
  });
  return server;
}

/** The process: forwards until SIGTERM. */
export async function runTunnel(flags: { listen: string; connect: string }): Promise<void> {
  const listen = parseEndpoint(flags.listen);
  const target = parseEndpoint(flags.connect);
  const log = (line: string) => process.stderr.write(`${new Date().toISOString()} tunnel ${line}\n`);
  const server = await startForwarder(listen, target, log);
  log(`forwarding ${formatEndpoint(listen)} -> ${formatEndpoint(target)}`);
  const stop = () => {
    server.close();
    if (listen.kind === 'unix') rmSync(listen.path, { force: true });
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

function argValue(args: string[], name: string): string {
  const i = args.indexOf(name);
  const v = i >= 0 ? args[i + 1] : undefined;
  if (!v) throw new Error(`missing ${name}; usage: tunnel.js --listen tcp:HOST:PORT|unix:PATH --connect tcp:HOST:PORT|unix:PATH`);
  return v;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2);
  runTunnel({ listen: argValue(args, '--listen'), connect: argValue(args, '--connect') }).catch((e: unknown) => {
    process.stderr.write(`tunnel: ${(e as Error).message}\n`);
    process.exit(1);
  });
}
