// What a Pod runs in the lab: one small process per Pod, started by the node agent (the kubelet
// stand-in), bound to the Pod's addresses on its ports. Answers every request with who it is
// and who it saw, so a test or a person can tell which node and Pod served a request and
// whether the client's address survived the path (externalTrafficPolicy Local keeps it).
// Paths of agnhost netexec that MetalLB's e2e tests use are honoured: /hostname, /clientip,
// /echo?msg=. Every request is logged (an access log, like seed 002's nginx check).
//
// Standalone on purpose (node dist/src/lab/podServer.js ...): it imports nothing heavy and
// starts in ~50 ms.
import { createSocket } from 'node:dgram';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { isIPv6 } from 'node:net';
import { fileURLToPath } from 'node:url';

export interface PodServerOptions {
  readonly namespace: string;
  readonly pod: string;
  readonly node: string;
  readonly addresses: readonly string[];
  readonly tcpPorts: readonly number[];
  readonly udpPorts: readonly number[];
}

/** The answer to every request (JSON over HTTP, and the UDP reply). */
export interface PodAnswer {
  pod: string;
  namespace: string;
  node: string;
  /** The address and port the request arrived on (a pod IP, after any DNAT). */
  podIP: string;
  port: number;
  /** The peer the pod saw: the real client with externalTrafficPolicy Local, a node after masquerade. */
  client: string;
  clientPort: number;
}

export function podServerArgs(o: PodServerOptions): string[] {
  return [
    '--namespace', o.namespace, '--pod', o.pod, '--node', o.node,
    ...o.addresses.flatMap((a) => ['--address', a]),
    ...o.tcpPorts.flatMap((p) => ['--tcp', String(p)]),
    ...o.udpPorts.flatMap((p) => ['--udp', String(p)]),
  ];
}

export function parsePodServerArgs(args: readonly string[]): PodServerOptions {
  const all = (name: string) => args.flatMap((a, i) => (a === name && args[i + 1] !== undefined ? [args[i + 1] as string] : []));
  const one = (name: string) => {
    const v = all(name)[0];
    if (v === undefined) throw new Error(`podServer: ${name} is required`);
    return v;
  };
  const ports = (name: string) =>
    all(name).map((p) => {
      const n = Number(p);
      if (!Number.isInteger(n) || n < 1 || n > 65535) throw new Error(`podServer: ${name} ${p} is not a port number`);
      return n;
    });
  return { namespace: one('--namespace'), pod: one('--pod'), node: one('--node'), addresses: all('--address'), tcpPorts: ports('--tcp'), udpPorts: ports('--udp') };
}

function stripMapped(a: string): string {
  return a.startsWith('::ffff:') ? a.slice(7) : a;
}

function answerFor(o: PodServerOptions, local: { address?: string; port?: number }, remote: { address?: string; port?: number }): PodAnswer {
  return {
    pod: o.pod, namespace: o.namespace, node: o.node,
    podIP: stripMapped(local.address ?? ''), port: local.port ?? 0,
    client: stripMapped(remote.address ?? ''), clientPort: remote.port ?? 0,
  };
}

function hostPort(address: string, port: number): string {
  return isIPv6(address) ? `[${address}]:${port}` : `${address}:${port}`;
}

/** Binds every address x port; resolves when all are listening, rejects on the first bind error. */
export async function startPodServer(o: PodServerOptions, log: (line: string) => void): Promise<() => void> {
  const closers: (() => void)[] = [];
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const a = answerFor(o, { address: req.socket.localAddress, port: req.socket.localPort }, { address: req.socket.remoteAddress, port: req.socket.remotePort });
    log(`${hostPort(a.client, a.clientPort)} -> ${hostPort(a.podIP, a.port)} ${req.method} ${req.url}`);
    const url = new URL(req.url ?? '/', 'http://pod');
    if (url.pathname === '/hostname') return void res.end(o.pod);
    if (url.pathname === '/clientip') return void res.end(hostPort(a.client, a.clientPort));
    if (url.pathname === '/echo') return void res.end(url.searchParams.get('msg') ?? '');
    res.setHeader('content-type', 'application/json');
    res.end(`${JSON.stringify(a)}\n`);
  };
  for (const address of o.addresses) {
    for (const port of o.tcpPorts) {
      const server = createServer({ keepAliveTimeout: 1000 }, handler);
      await new Promise<void>((resolve, reject) => {
        server.once('error', (e) => reject(new Error(`cannot listen on tcp ${hostPort(address, port)}: ${e.message}`)));
        server.listen(port, address, resolve);
      });
      closers.push(() => server.close());
    }
    for (const port of o.udpPorts) {
      const socket = createSocket(isIPv6(address) ? 'udp6' : 'udp4');
      socket.on('message', (_msg, rinfo) => {
        const a = answerFor(o, { address, port }, rinfo);
        log(`${hostPort(a.client, a.clientPort)} -> ${hostPort(address, port)} UDP`);
        socket.send(`${JSON.stringify(a)}\n`, rinfo.port, rinfo.address);
      });
      await new Promise<void>((resolve, reject) => {
        socket.once('error', (e) => reject(new Error(`cannot bind udp ${hostPort(address, port)}: ${e.message}`)));
        socket.bind(port, address, resolve);
      });
      closers.push(() => socket.close());
    }
  }
  return () => closers.forEach((c) => c());
}

async function main(): Promise<void> {
  const o = parsePodServerArgs(process.argv.slice(2));
  const log = (line: string) => process.stdout.write(`${new Date().toISOString()} ${line}\n`);
  await startPodServer(o, log);
  log(`pod ${o.namespace}/${o.pod} on ${o.node} serving tcp ${o.tcpPorts.join(',') || '-'} udp ${o.udpPorts.join(',') || '-'} on ${o.addresses.join(', ')}`);
  // The agent (our parent, over IPC) reports the Pod Ready only after this message.
  process.send?.({ listening: true });
  // A Pod does not outlive its kubelet stand-in.
  process.on('disconnect', () => process.exit(0));
  process.on('SIGTERM', () => process.exit(0));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((e: unknown) => {
    process.stderr.write(`podServer: ${(e as Error).message}\n`);
    process.exit(1);
  });
}
