// Reading a kubeconfig for src/k8s/rest.ts: the current context's cluster and user, inline data
// and files relative to the kubeconfig, and a clear refusal of what the client does not do.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { connectionFromKubeconfig, inClusterConnection, resolveConnection } from '../../src/k8s/rest.js';

const dir = mkdtempSync(join(tmpdir(), 'ironlb-kubeconfig-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const b64 = (s: string) => Buffer.from(s).toString('base64');
const config = (user: string, cluster = `server: https://192.0.2.10:6443/\n    certificate-authority-data: ${b64('CA')}`) => `apiVersion: v1
kind: Config
current-context: main
contexts:
- name: other
  context: { cluster: c2, user: u2 }
- name: main
  context: { cluster: c1, user: u1, namespace: metallb-system }
clusters:
- name: c2
  cluster: { server: https://198.51.100.1 }
- name: c1
  cluster:
    ${cluster}
users:
- name: u2
  user: { token: wrong }
- name: u1
  user:
    ${user}
`;

describe('connectionFromKubeconfig', () => {
  it('takes the current context: server without trailing slash, CA, client certificate data, namespace', () => {
    const c = connectionFromKubeconfig(config(`client-certificate-data: ${b64('CERT')}\n    client-key-data: ${b64('KEY')}`), join(dir, 'kc'));
    expect(c.server).toBe('https://192.0.2.10:6443');
    expect(c.ca?.toString()).toBe('CA');
    expect(c.cert?.toString()).toBe('CERT');
    expect(c.key?.toString()).toBe('KEY');
    expect(c.token).toBeUndefined();
    expect(c.namespace).toBe('metallb-system');
  });

  it('reads files relative to the kubeconfig and keeps a token file to re-read', () => {
    writeFileSync(join(dir, 'ca.crt'), 'FILE-CA');
    const c = connectionFromKubeconfig(config('tokenFile: token', 'server: https://192.0.2.10:6443\n    certificate-authority: ca.crt\n    tls-server-name: kubernetes'), join(dir, 'kc'));
    expect(c.ca?.toString()).toBe('FILE-CA');
    expect(c.tokenFile).toBe(join(dir, 'token'));
    expect(c.tlsServerName).toBe('kubernetes');
  });

  it('refuses exec plugins with a message naming the user and the way out', () => {
    expect(() => connectionFromKubeconfig(config('exec: { command: aws }'), '/x/kc')).toThrow(/kubeconfig "\/x\/kc": user "u1" uses exec.*token, token file or client certificate/);
  });

  it('says which context is missing', () => {
    expect(() => connectionFromKubeconfig(config('token: t').replace('current-context: main', 'current-context: gone'), '/x/kc')).toThrow(/current-context "gone" not found/);
  });
});

describe('resolveConnection', () => {
  it('uses the in-cluster service account when KUBECONFIG is unset and KUBERNETES_SERVICE_HOST is set; IPv6 hosts get brackets', () => {
    const sa = mkdtempSync(join(dir, 'sa-'));
    writeFileSync(join(sa, 'token'), 'tok\n');
    writeFileSync(join(sa, 'ca.crt'), 'SA-CA');
    writeFileSync(join(sa, 'namespace'), 'metallb-system\n');
    const c = inClusterConnection({ KUBERNETES_SERVICE_HOST: '2001:db8::1', KUBERNETES_SERVICE_PORT: '443' }, sa);
    expect(c).toMatchObject({ server: 'https://[2001:db8::1]:443', tokenFile: join(sa, 'token'), namespace: 'metallb-system' });
    expect(c.ca?.toString()).toBe('SA-CA');
  });

  it('names the flag when a --kubeconfig path does not exist, and says how to configure when nothing is there', () => {
    expect(() => resolveConnection(join(dir, 'missing'))).toThrow(/does not exist; pass --kubeconfig/);
    expect(() => resolveConnection(undefined, { KUBECONFIG: join(dir, 'missing') })).toThrow(/no Kubernetes cluster configured/);
  });
});
