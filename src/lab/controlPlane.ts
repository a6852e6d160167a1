// A real, local Kubernetes control plane for the lab and the tests: etcd, kube-apiserver
// (token auth, RBAC, its own serving cert) and kube-controller-manager, built from the Go
// module proxy by scripts/build-k8s-binaries.sh and started as background processes.
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { request as httpRequest } from 'node:http';
import { join, resolve } from 'node:path';
import { projectRoot } from './projectRoot.js';
import { freeLoopbackPort, isRunning, sleep, startDetached, stopProcess, tailOfLog, type TrackedProcess } from './processes.js';

export interface Binaries {
  readonly etcd: string;
  readonly kubeApiserver: string;
  readonly kubeControllerManager: string;
  readonly kubectl: string;
}

export interface ControlPlaneState {
  readonly dir: string;
  readonly apiserver: string;
  readonly kubeconfig: string;
  readonly kubectl: string;
  readonly caFile: string;
  readonly adminToken: string;
  readonly processes: TrackedProcess[];
  readonly binaries: Binaries;
}

export type Progress = (line: string) => void;

/** Builds (first time) or finds (cached) the Kubernetes binaries; progress goes to stderr. */
export function ensureBinaries(progress: Progress): Binaries {
  const script = join(projectRoot(), 'scripts', 'build-k8s-binaries.sh');
  progress('checking Kubernetes binaries (a cold build takes about 5 minutes on 2 cores; cached by version)');
  const res = spawnSync('bash', [script], { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
  if (res.status !== 0) {
    throw new Error(`building the Kubernetes binaries failed (exit ${res.status}); run 'bash ${script}' to see why. It needs Go >= 1.26 and access to the Go module proxy.`);
  }
  const vars = Object.fromEntries(
    res.stdout.split('\n').filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
  const k8s = vars.K8S_BIN as string;
  const etcd = vars.ETCD_BIN as string;
  return {
    etcd: join(etcd, 'etcd'),
    kubeApiserver: join(k8s, 'kube-apiserver'),
    kubeControllerManager: join(k8s, 'kube-controller-manager'),
    kubectl: join(k8s, 'kubectl'),
  };
}

// Service CIDRs only live inside the API server's bookkeeping: nothing routes or binds them.
const SERVICE_CIDRS = '10.96.0.0/16,fd00:10:96::/112';
// Non-loopback advertise address (the API server rejects loopback endpoints); never bound.
const ADVERTISE_ADDRESS = '198.51.100.254';

const KCM_CONTROLLERS = [
  'endpointslice-controller',
  'serviceaccount-controller',
  'namespace-controller',
  'garbage-collector-controller',
  'deployment-controller',
  'replicaset-controller',
].join(',');

export async function startControlPlane(dir: string, progress: Progress): Promise<ControlPlaneState> {
  const binaries = ensureBinaries(progress);
  mkdirSync(join(dir, 'logs'), { recursive: true });
  mkdirSync(join(dir, 'pki'), { recursive: true });
  const processes: TrackedProcess[] = [];
  try {
    const [etcdClient, etcdPeer, apiPort] = [await freeLoopbackPort(), await freeLoopbackPort(), await freeLoopbackPort()];

    progress(`starting etcd on 127.0.0.1:${etcdClient}`);
    const etcd = startDetached('etcd', binaries.etcd, [
      '--name', 'lab', '--data-dir', join(dir, 'etcd'),
      '--listen-client-urls', `http://127.0.0.1:${etcdClient}`, '--advertise-client-urls', `http://127.0.0.1:${etcdClient}`,
      '--listen-peer-urls', `http://127.0.0.1:${etcdPeer}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${etcdPeer}`,
      '--initial-cluster', `lab=http://127.0.0.1:${etcdPeer}`, '--unsafe-no-fsync', '--log-level', 'warn',
    ], join(dir, 'logs', 'etcd.log'));
    processes.push(etcd);
    await waitFor('etcd', etcd, 30_000, async () => (await httpGet(`http://127.0.0.1:${etcdClient}/health`)).includes('"health":"true"'));

    const adminToken = randomBytes(24).toString('hex');
    writeFileSync(join(dir, 'tokens.csv'), `${adminToken},admin,admin-uid,"system:masters"\n`, { mode: 0o600 });
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    writeFileSync(join(dir, 'pki', 'sa.key'), privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    writeFileSync(join(dir, 'pki', 'sa.pub'), publicKey.export({ type: 'spki', format: 'pem' }));

    progress(`starting kube-apiserver on https://127.0.0.1:${apiPort}`);
    const apiserver = startDetached('kube-apiserver', binaries.kubeApiserver, [
      `--etcd-servers=http://127.0.0.1:${etcdClient}`,
      '--bind-address=127.0.0.1', `--secure-port=${apiPort}`, `--advertise-address=${ADVERTISE_ADDRESS}`,
      `--cert-dir=${join(dir, 'pki')}`,
      `--token-auth-file=${join(dir, 'tokens.csv')}`,
      '--authorization-mode=RBAC',
      '--service-account-issuer=https://kubernetes.default.svc',
      `--service-account-key-file=${join(dir, 'pki', 'sa.pub')}`,
      `--service-account-signing-key-file=${join(dir, 'pki', 'sa.key')}`,
      `--service-cluster-ip-range=${SERVICE_CIDRS}`,
      '--enable-priority-and-fairness=false',
      '--v=1',
    ], join(dir, 'logs', 'kube-apiserver.log'));
    processes.push(apiserver);
    const url = `https://127.0.0.1:${apiPort}`;
    const caFile = join(dir, 'pki', 'apiserver.crt');
    await waitForApiserver(apiserver, url, caFile, adminToken);

    const kubeconfig = join(dir, 'admin.kubeconfig');
    writeFileSync(kubeconfig, kubeconfigYaml(url, caFile, 'admin', adminToken), { mode: 0o600 });

    progress('starting kube-controller-manager (EndpointSlices, Deployments, ServiceAccounts, namespaces, GC)');
    // A free port can be taken before kcm binds it (ephemeral source ports share the range, and
    // the API server just opened many): pick it late and try again on "address already in use".
    for (let attempt = 1; ; attempt++) {
      const kcmPort = await freeLoopbackPort();
      const kcm = startDetached('kube-controller-manager', binaries.kubeControllerManager, [
        `--kubeconfig=${kubeconfig}`, '--leader-elect=false', `--controllers=${KCM_CONTROLLERS}`,
        '--bind-address=127.0.0.1', `--secure-port=${kcmPort}`, '--v=1',
        // No cloud provider, no node lifecycle: nodes of the lab have no kubelet.
        '--use-service-account-credentials=false',
      ], join(dir, 'logs', 'kube-controller-manager.log'));
      await sleep(300);
      if (isRunning(kcm)) {
        processes.push(kcm);
        break;
      }
      const tail = tailOfLog(kcm.log);
      if (attempt < 3 && /address already in use/.test(tail)) continue;
      throw new Error(`kube-controller-manager exited at once:\n${tail}`);
    }

    return { dir, apiserver: url, kubeconfig, kubectl: binaries.kubectl, caFile, adminToken, processes, binaries };
  } catch (e) {
    for (const p of processes.reverse()) await stopProcess(p, 2000);
    throw e;
  }
}

export async function waitForApiserver(p: TrackedProcess, url: string, caFile: string, token: string): Promise<void> {
  await waitFor('kube-apiserver', p, 120_000, async () => {
    if (!existsSync(caFile)) return false;
    return (await httpsGet(`${url}/readyz`, caFile, token)) === 'ok';
  });
}

export async function stopProcesses(processes: readonly TrackedProcess[]): Promise<void> {
  // Reverse start order: clients before the API server, the API server before etcd.
  for (const p of [...processes].reverse()) await stopProcess(p);
}

export function removeDir(dir: string): void {
  rmSync(resolve(dir), { recursive: true, force: true });
}

export function kubeconfigYaml(server: string, caFile: string, user: string, token: string): string {
  return [
    'apiVersion: v1', 'kind: Config',
    'clusters:', '- name: lab', '  cluster:', `    server: ${server}`, `    certificate-authority: ${caFile}`,
    'users:', `- name: ${user}`, '  user:', `    token: ${token}`,
    'contexts:', '- name: lab', '  context:', '    cluster: lab', `    user: ${user}`,
    'current-context: lab', '',
  ].join('\n');
}

async function waitFor(name: string, p: TrackedProcess, timeoutMs: number, ready: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isRunning(p)) throw new Error(`${name} exited during start-up; last lines of ${p.log}:\n${tailOfLog(p.log)}`);
    try {
      if (await ready()) return;
    } catch {
      /* not up yet */
    }
    await sleep(250);
  }
  throw new Error(`${name} was not ready within ${timeoutMs / 1000} s; last lines of ${p.log}:\n${tailOfLog(p.log)}`);
}

function httpGet(url: string): Promise<string> {
  return fetchText(httpRequest, url, { timeout: 2000 });
}

export function httpsGet(url: string, caFile: string, token: string): Promise<string> {
  return fetchText(request, url, { ca: readFileSync(caFile), headers: { Authorization: `Bearer ${token}` }, timeout: 3000 });
}

function fetchText(send: typeof request, url: string, options: Parameters<typeof request>[1]): Promise<string> {
  return new Promise((resolveBody, reject) => {
    const req = send(url, options, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolveBody(body));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.end();
  });
}
