// The validating webhook with the lab's real kube-apiserver calling it: kubectl apply of bad
// configuration is refused with the parser's message, good configuration passes, and the
// certificate the controller made for itself is kept in a Secret and reused on restart.
import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { labWebhookConfiguration } from '../../src/lab/lab.js';
import { freeLoopbackPort } from '../../src/lab/processes.js';
import { kubectl, kubectlJson, lab, resetConfig, startController, waitFor, type RunningController } from './harness.js';

const VWC = `ironlb-webhook-e2e-${process.pid}`;
const SECRET = `ironlb-webhook-cert-e2e-${process.pid}`;

/** kubectl apply that may fail: the exit status and everything kubectl printed. */
function tryApply(yaml: string, extra: string[] = []): { ok: boolean; output: string } {
  const l = lab();
  const res = spawnSync(l.kubectl, ['--kubeconfig', l.kubeconfig, 'apply', '-f', '-', ...extra], { input: yaml, encoding: 'utf8' });
  return { ok: res.status === 0, output: `${res.stdout}${res.stderr}` };
}

function tryDelete(args: string[]): { ok: boolean; output: string } {
  const l = lab();
  const res = spawnSync(l.kubectl, ['--kubeconfig', l.kubeconfig, 'delete', ...args], { encoding: 'utf8' });
  return { ok: res.status === 0, output: `${res.stdout}${res.stderr}` };
}

const pool = (name: string, addresses: string[]) => `apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata:
  name: ${name}
  namespace: metallb-system
spec:
  addresses: [${addresses.map((a) => `"${a}"`).join(', ')}]
`;
const peer = (name: string, address: string, extra = '') => `apiVersion: metallb.io/v1beta2
kind: BGPPeer
metadata:
  name: ${name}
  namespace: metallb-system
spec:
  myASN: 64512
  peerASN: 64513
  peerAddress: "${address}"
${extra}`;
const bfd = (name: string) => `apiVersion: metallb.io/v1beta1
kind: BFDProfile
metadata:
  name: ${name}
  namespace: metallb-system
spec:
  receiveInterval: 300
`;

function secretData(): Record<string, string> & { rv: string } {
  const s = kubectlJson<any>(['-n', 'metallb-system', 'get', 'secret', SECRET]);
  return { ...s.data, rv: s.metadata.resourceVersion };
}

function caBundles(): string[] {
  return (kubectlJson<any>(['get', 'validatingwebhookconfiguration', VWC]).webhooks as any[]).map((w) => w.clientConfig.caBundle ?? '');
}

describe('validating webhook called by the real API server', () => {
  let ctl: RunningController | undefined;
  let port = 0;
  const args = () => ['--webhook-port', String(port), '--webhook-host', '127.0.0.1', '--webhook-cert-ip', '127.0.0.1',
    '--webhook-secret', SECRET, '--webhook-configuration', VWC];

  beforeAll(async () => {
    resetConfig();
    port = await freeLoopbackPort();
    kubectl(['apply', '-f', '-'], labWebhookConfiguration(port, VWC));
    ctl = startController(args());
    await waitFor('webhook listening and caBundle patched', () => ctl!.logText().includes('patched caBundle'), 60_000);
  });

  afterEach((ctx) => {
    if (ctx.task.result?.state === 'fail' && ctl) process.stderr.write(`--- controller log (tail) ---\n${ctl.logText().split('\n').slice(-30).join('\n')}\n`);
  });

  afterAll(async () => {
    // The configuration first: failing closed, it would block every later test's metallb.io objects.
    kubectl(['delete', 'validatingwebhookconfiguration', VWC, '--ignore-not-found']);
    await ctl?.stop();
    kubectl(['-n', 'metallb-system', 'delete', 'secret', SECRET, '--ignore-not-found']);
    kubectl(['-n', 'metallb-system', 'delete', 'lease', '--all', '--ignore-not-found']);
    resetConfig();
  });

  test('the certificate Secret is created and its CA is in every caBundle', () => {
    const s = secretData();
    for (const k of ['ca.crt', 'ca.key', 'tls.crt', 'tls.key']) expect(s[k], k).toBeTruthy();
    const ca = Buffer.from(s['ca.crt']!, 'base64').toString();
    const cert = new X509Certificate(Buffer.from(s['tls.crt']!, 'base64').toString());
    expect(cert.verify(new X509Certificate(ca).publicKey)).toBe(true);
    expect(cert.subjectAltName).toContain('IP Address:127.0.0.1');
    expect(caBundles()).toEqual(Array(6).fill(s['ca.crt']));
  });

  test('an overlapping pool is refused by kubectl apply with the parser\'s message; a disjoint one is accepted', async () => {
    expect(tryApply(pool('wh-first', ['192.0.2.0/28']))).toMatchObject({ ok: true });
    // The webhook reads the controller's caches: wait until they hold wh-first.
    await waitFor('cache has wh-first', () => !tryApply(pool('wh-probe', ['192.0.2.1/32']), ['--dry-run=server']).ok, 10_000);
    const refused = tryApply(pool('wh-second', ['192.0.2.8-192.0.2.20']));
    expect(refused.ok).toBe(false);
    expect(refused.output).toContain('admission webhook');
    expect(refused.output).toMatch(/denied the request: IPAddressPool "wh-second": spec\.addresses\[0\]: .*overlaps.*in pool "wh-first"/);
    expect(tryApply(pool('wh-second', ['198.51.100.0/28']))).toMatchObject({ ok: true });
    expect(kubectlJson<any>(['-n', 'metallb-system', 'get', 'ipaddresspools']).items.map((p: any) => p.metadata.name).sort()).toEqual(['wh-first', 'wh-second']);
  });

  test('a bad BGPPeer is refused, a valid one accepted (a missing BFDProfile is only a warning)', () => {
    const bad = tryApply(peer('wh-bad', '192.0.2.300'));
    expect(bad.ok).toBe(false);
    expect(bad.output).toMatch(/BGPPeer "wh-bad": spec\.peerAddress/);
    const good = tryApply(peer('wh-good', '192.0.2.1', '  bfdProfile: wh-later\n'));
    expect(good.ok).toBe(true);
    expect(good.output).toMatch(/Warning: BGPPeer "wh-good": spec\.bfdProfile: BFDProfile "wh-later" does not exist/);
  });

  test('deleting a BFDProfile a peer uses is refused; once unused it can go', async () => {
    expect(tryApply(bfd('wh-later')).ok).toBe(true);
    await waitFor('cache has the BFDProfile and the peer', () => {
      const r = tryDelete(['-n', 'metallb-system', 'bfdprofile', 'wh-later', '--dry-run=server']);
      return !r.ok && r.output.includes('is used by BGPPeer "wh-good"') ? r : undefined;
    }, 10_000);
    const refused = tryDelete(['-n', 'metallb-system', 'bfdprofile', 'wh-later']);
    expect(refused.ok).toBe(false);
    expect(refused.output).toContain('BFDProfile "wh-later" is used by BGPPeer "wh-good" (spec.bfdProfile); remove or change spec.bfdProfile');
    kubectl(['-n', 'metallb-system', 'delete', 'bgppeer', 'wh-good']);
    await waitFor('BFDProfile deletable', () => tryDelete(['-n', 'metallb-system', 'bfdprofile', 'wh-later']).ok, 10_000);
  });

  test('a restarted controller reuses the certificate in the Secret (no rewrite, same caBundle)', async () => {
    const before = secretData();
    const bundles = caBundles();
    await ctl!.stop();
    ctl = startController(args());
    await waitFor('webhook listening again', () => ctl!.logText().includes('validating webhook listening'), 60_000);
    expect(ctl.logText()).not.toContain('wrote the webhook certificate');
    expect(secretData()).toEqual(before);
    expect(caBundles()).toEqual(bundles);
    // And it serves with it: the API server still gets answers.
    await waitFor('refusal after restart', () => {
      const r = tryApply(pool('wh-third', ['192.0.2.0/30']), ['--dry-run=server']);
      return !r.ok && r.output.includes('overlaps') ? r : undefined;
    }, 20_000);
  });
});
