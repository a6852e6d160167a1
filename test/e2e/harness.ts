// Helpers for tests against the real API server: run kubectl, run `ironlb controller` as a
// child process under its ServiceAccount, wait for conditions.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { inject } from 'vitest';
import { projectRoot } from '../../src/lab/projectRoot.js';

export function lab() {
  return inject('lab');
}

export function kubectl(args: string[], input?: string): string {
  const l = lab();
  const res = spawnSync(l.kubectl, ['--kubeconfig', l.kubeconfig, ...args], { input, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (res.status !== 0) throw new Error(`kubectl ${args.join(' ')}: ${(res.stderr || res.stdout).trim()}`);
  return res.stdout;
}

export function kubectlJson<T = any>(args: string[]): T {
  return JSON.parse(kubectl([...args, '-o', 'json'])) as T;
}

export function apply(yaml: string, namespace?: string): void {
  kubectl([...(namespace ? ['-n', namespace] : []), 'apply', '-f', '-'], yaml);
}

export interface RunningController {
  readonly child: ChildProcess;
  readonly log: string;
  stop(): Promise<void>;
  logText(): string;
}

let controllerSeq = 0;

export function startController(extraArgs: string[] = []): RunningController {
  const l = lab();
  mkdirSync(join(l.dir, 'logs'), { recursive: true });
  const log = join(l.dir, 'logs', `test-controller-${process.pid}-${++controllerSeq}.log`);
  const fd = openSync(log, 'a');
  const child = spawn(process.execPath, [join(projectRoot(), 'bin', 'ironlb.js'), 'controller', '--kubeconfig', l.controllerKubeconfig, '--metrics-port', '0', '--log-level', 'debug', ...extraArgs], {
    stdio: ['ignore', fd, fd],
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return {
    child,
    log,
    logText: () => readFileSync(log, 'utf8'),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exited;
      }
    },
  };
}

export async function waitFor<T>(what: string, fn: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      lastErr = e;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastErr ? `: ${String(lastErr)}` : ''}`);
}

export function ingressIps(namespace: string, name: string): string[] {
  const svc = kubectlJson<any>(['-n', namespace, 'get', 'svc', name]);
  return ((svc.status?.loadBalancer?.ingress ?? []) as { ip?: string }[]).map((i) => i.ip ?? '').filter(Boolean);
}

export function eventsFor(namespace: string, name: string): { reason: string; message: string; type: string }[] {
  const list = kubectlJson<any>(['-n', namespace, 'get', 'events', '--field-selector', `involvedObject.name=${name}`]);
  return (list.items as any[]).map((e) => ({ reason: e.reason, message: e.message ?? e.note ?? '', type: e.type }));
}

/** Deletes all metallb.io config objects and the legacy ConfigMap, so each test starts clean. */
export function resetConfig(): void {
  for (const kind of ['ipaddresspools', 'l2advertisements', 'bgpadvertisements', 'bgppeers', 'bfdprofiles', 'communities']) {
    kubectl(['-n', 'metallb-system', 'delete', kind, '--all', '--wait=true']);
  }
  kubectl(['-n', 'metallb-system', 'delete', 'configmap', 'config', '--ignore-not-found']);
}

export function createNamespace(name: string): void {
  kubectl(['create', 'namespace', name]);
}

export function deleteNamespace(name: string): void {
  kubectl(['delete', 'namespace', name, '--wait=false', '--ignore-not-found']);
}

export function lbService(name: string, opts: { annotations?: Record<string, string>; loadBalancerIP?: string; ports?: { port: number; protocol?: string }[]; ipFamilyPolicy?: string; etpLocal?: boolean } = {}): string {
  const ann = opts.annotations ? `  annotations:\n${Object.entries(opts.annotations).map(([k, v]) => `    ${k}: "${v}"`).join('\n')}\n` : '';
  const ports = (opts.ports ?? [{ port: 80 }]).map((p) => `  - port: ${p.port}\n    protocol: ${p.protocol ?? 'TCP'}\n    name: p${p.port}${(p.protocol ?? 'tcp').toLowerCase()}`).join('\n');
  return `apiVersion: v1
kind: Service
metadata:
  name: ${name}
${ann}spec:
  type: LoadBalancer
${opts.loadBalancerIP ? `  loadBalancerIP: ${opts.loadBalancerIP}\n` : ''}${opts.ipFamilyPolicy ? `  ipFamilyPolicy: ${opts.ipFamilyPolicy}\n` : ''}${opts.etpLocal ? '  externalTrafficPolicy: Local\n' : ''}  selector:
    app: ${name}
  ports:
${ports}
`;
}

/** `ironlb status [service] -o json` against the lab API server, as an administrator. */
export function ironlbStatus(service?: string): { services: { service: string; state: string; reason?: string; detail?: string; ips: string[]; pool?: string; announcers: { node: string; protocol: string; interfaces?: string[]; peers?: string[] }[] }[]; tookMs: number } {
  const l = lab();
  const res = spawnSync(process.execPath, [join(projectRoot(), 'bin', 'ironlb.js'), 'status', ...(service ? [service] : []), '-o', 'json', '--kubeconfig', l.kubeconfig], { encoding: 'utf8' });
  if (res.status !== 0) throw new Error(`ironlb status ${service ?? ''} failed (${res.status}): ${res.stderr}`);
  return JSON.parse(res.stdout);
}
