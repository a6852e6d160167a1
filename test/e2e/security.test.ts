// Security against the real API server (issue 7 §3): the speaker's and the controller's
// ServiceAccount tokens (TokenRequest, as the lab and the kubelet get them) can do what each
// component needs and nothing more — checked with `kubectl auth can-i --list` (the complete
// rule set the API server computes) and with real requests; and no secret (BGP passwords inline
// and from a Secret, the memberlist key, other Secrets the components can see) appears in any
// log line of the controller or the speaker.
// Gossip with a wrong key and BGP with a wrong MD5 password are covered by membership.test.ts and
// bgpSpeaker.test.ts (see docs/security.md).
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { kubeconfigYaml } from '../../src/lab/controlPlane.js';
import { projectRoot } from '../../src/lab/projectRoot.js';
import { apply, createNamespace, deleteNamespace, kubectl, kubectlJson, lab, lbService, resetConfig, startController, waitFor } from './harness.js';

const MS = 'metallb-system';
const TAG = `ironlb-sec-${process.pid}`;
const NS = TAG; // a Service namespace of this test

type Identity = 'speaker' | 'controller';
const kubeconfigs = new Map<Identity, string>();
const tokens = new Map<Identity, string>();
let caFile = '';

/** One raw API request as the identity (for verbs kubectl would precede with a GET). */
async function api(who: Identity, method: string, path: string, body?: unknown, contentType = 'application/merge-patch+json'): Promise<{ status: number; text: string }> {
  const url = new URL(path, lab().apiserver);
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, {
      method, ca: readFileSync(caFile),
      headers: { Authorization: `Bearer ${tokens.get(who) as string}`, 'Content-Type': contentType, Accept: 'application/json' },
    }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

/** kubectl as one of the ServiceAccounts; never throws (denials are results). */
function as(who: Identity, args: string[], input?: string): { ok: boolean; out: string } {
  const l = lab();
  const res = spawnSync(l.kubectl, ['--kubeconfig', kubeconfigs.get(who) as string, ...args], { input, encoding: 'utf8' });
  return { ok: res.status === 0, out: `${res.stdout}${res.stderr}`.trim() };
}

/** `kubectl auth can-i VERB RESOURCE` as the identity ("resource" may be "services/status" or "x.group"). */
function canI(who: Identity, verb: string, resource: string, namespace?: string): boolean {
  const [res, sub] = resource.split('/') as [string, string | undefined];
  const r = as(who, ['auth', 'can-i', verb, res, ...(sub ? [`--subresource=${sub}`] : []), ...(namespace ? ['-n', namespace] : ['--all-namespaces'])]);
  if (!/^(yes|no)\b/.test(r.out)) throw new Error(`kubectl auth can-i ${verb} ${resource}: ${r.out}`);
  return r.ok;
}

/**
 * `kubectl auth can-i --list` in a namespace: "group resource[/sub] verb" for every resource rule
 * (cluster-wide rules plus the namespace's). The self-review and discovery rules every
 * authenticated user has are left out.
 */
function grantedIn(who: Identity, namespace: string): string[] {
  const r = as(who, ['auth', 'can-i', '--list', '-n', namespace, '--no-headers']);
  if (!r.ok) throw new Error(`can-i --list: ${r.out}`);
  const out = new Set<string>();
  for (const line of r.out.split('\n')) {
    const cols = line.trim().split(/\s{2,}/);
    if (cols.length < 4) continue;
    const [resource, nonResource, names, verbs] = cols as [string, string, string, string];
    if (nonResource !== '[]' || resource === '') continue;
    if (names !== '[]') throw new Error(`unexpected resourceNames in "${line}"`);
    // kubectl prints "resource.group/sub" (group absent for the core group).
    const m = /^([^./]+)(?:\/([^.]+))?(?:\.([^/]+))?(?:\/(.+))?$/.exec(resource);
    if (!m) throw new Error(`cannot read resource "${resource}"`);
    const res = m[1] as string;
    const sub = m[2] ?? m[4];
    const group = m[3] ?? '';
    if (['selfsubjectaccessreviews', 'selfsubjectrulesreviews', 'selfsubjectreviews'].includes(res)) continue;
    for (const verb of verbs.replace(/^\[|\]$/g, '').split(' ')) out.add(`${group || 'core'} ${res}${sub ? `/${sub}` : ''} ${verb}`);
  }
  return [...out].sort();
}

const rules = (group: string, resources: string[], verbs: string[]): string[] =>
  resources.flatMap((r) => verbs.map((v) => `${group} ${r} ${v}`));
const READ = ['get', 'list', 'watch'];
const CONFIG_KINDS = ['ipaddresspools', 'l2advertisements', 'bgpadvertisements', 'bgppeers', 'bfdprofiles', 'communities'];
const EVENTS = [...rules('core', ['events'], ['create', 'patch']), ...rules('events.k8s.io', ['events'], ['create', 'patch'])];
/** Read-only Kube-OVN objects (underlay checks); harmless where Kube-OVN is absent. */
const KUBE_OVN_READ = rules('kubeovn.io', ['subnets', 'vlans', 'provider-networks', 'ips'], READ);
/** Allowed but not required: the speaker's Kube-OVN reads (underlay VLAN resolution) are being added. */
const OPTIONAL: Record<Identity, string[]> = { speaker: rules('kubeovn.io', ['subnets', 'vlans', 'provider-networks'], READ), controller: [] };

/** What each identity may do, cluster-wide (any namespace) and additionally in metallb-system. */
const ALLOWED: Record<Identity, { cluster: string[]; metallbSystem: string[] }> = {
  speaker: {
    cluster: [
      ...rules('core', ['services', 'nodes'], READ),
      ...rules('discovery.k8s.io', ['endpointslices'], READ),
      ...EVENTS,
    ],
    metallbSystem: [
      ...rules('metallb.io', CONFIG_KINDS, READ),
      ...rules('metallb.io', ['servicel2statuses', 'servicebgpstatuses'], [...READ, 'create', 'update', 'patch', 'delete']),
      ...rules('metallb.io', ['servicel2statuses/status', 'servicebgpstatuses/status'], ['get', 'update', 'patch']),
      // ConfigurationState "speaker-<node>" (MetalLB 1.7): no list/watch, it only writes its own.
      ...rules('metallb.io', ['configurationstates'], ['get', 'create', 'update', 'patch']),
      ...rules('metallb.io', ['configurationstates/status'], ['get', 'update', 'patch']),
      // BGPPeer passwordSecret may name any Secret of metallb-system (MetalLB), and the memberlist key.
      ...rules('core', ['secrets'], READ),
      ...rules('core', ['configmaps'], READ),
    ],
  },
  controller: {
    cluster: [
      ...rules('core', ['services'], [...READ, 'patch']),
      ...rules('core', ['services/status'], ['update', 'patch']),
      ...rules('core', ['namespaces'], READ),
      ...rules('core', ['nodes'], ['list', 'watch']),
      ...EVENTS,
      ...rules('admissionregistration.k8s.io', ['validatingwebhookconfigurations'], ['get', 'patch']),
      ...KUBE_OVN_READ,
    ],
    metallbSystem: [
      ...rules('metallb.io', CONFIG_KINDS, READ),
      ...rules('metallb.io', ['ipaddresspools/status'], ['get', 'update', 'patch']),
      ...rules('metallb.io', ['configurationstates'], [...READ, 'create', 'update', 'patch']),
      ...rules('metallb.io', ['configurationstates/status'], ['get', 'update', 'patch']),
      ...rules('core', ['secrets'], ['create', 'get', 'list', 'watch', 'update']),
      ...rules('core', ['configmaps'], READ),
      ...rules('apps', ['deployments'], ['get']),
      ...rules('coordination.k8s.io', ['leases'], ['get', 'create', 'update']),
    ],
  },
};

function secretYaml(name: string, namespace: string, data: Record<string, string>, type = 'Opaque'): string {
  return `apiVersion: v1
kind: Secret
metadata:
  name: ${name}
  namespace: ${namespace}
type: ${type}
stringData:
${Object.entries(data).map(([k, v]) => `  ${k}: "${v}"`).join('\n')}
`;
}

const OTHER_SECRET_VALUE = `other-${randomBytes(12).toString('hex')}`;

beforeAll(() => {
  const l = lab();
  const ca = /certificate-authority: (.+)/.exec(readFileSync(l.controllerKubeconfig, 'utf8'))?.[1]?.trim();
  if (!ca) throw new Error(`no certificate-authority in ${l.controllerKubeconfig}`);
  caFile = ca;
  mkdirSync(join(l.dir, 'security'), { recursive: true });
  for (const who of ['speaker', 'controller'] as const) {
    // A fresh TokenRequest per identity, as the kubelet mounts it into the pods.
    const token = kubectl(['-n', MS, 'create', 'token', who, '--duration=1h']).trim();
    const file = join(l.dir, 'security', `${TAG}-${who}.kubeconfig`);
    writeFileSync(file, kubeconfigYaml(l.apiserver, ca, `system:serviceaccount:${MS}:${who}`, token), { mode: 0o600 });
    kubeconfigs.set(who, file);
    tokens.set(who, token);
  }
  resetConfig();
  createNamespace(NS);
  // Secrets neither component has any business reading.
  apply(secretYaml(TAG, 'default', { token: OTHER_SECRET_VALUE }));
  apply(secretYaml(`${TAG}-unrelated`, MS, { token: OTHER_SECRET_VALUE }));
  apply(lbService('victim'), NS);
});

afterAll(() => {
  for (const args of [['-n', 'default', 'delete', 'secret', TAG], ['-n', MS, 'delete', 'secret', `${TAG}-unrelated`, `${TAG}-bgp`]]) {
    try {
      kubectl([...args, '--ignore-not-found']);
    } catch {
      /* best effort */
    }
  }
  deleteNamespace(NS);
});

describe('RBAC: each identity can do what it needs and nothing more', () => {
  test.each(['speaker', 'controller'] as const)('%s: can-i --list is exactly the needed rule set', (who) => {
    const identity = as(who, ['auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username}']);
    expect(identity.out).toBe(`system:serviceaccount:${MS}:${who}`);
    const allowed = ALLOWED[who];
    const compare = (granted: string[], expected: string[]) => ({
      extra: granted.filter((g) => !expected.includes(g) && !OPTIONAL[who].includes(g)),
      missing: [...new Set(expected)].filter((e) => !granted.includes(e)).sort(),
    });
    // In a namespace of ours only the cluster-wide rules apply; in metallb-system the Roles add theirs.
    expect(compare(grantedIn(who, NS), allowed.cluster)).toEqual({ extra: [], missing: [] });
    expect(compare(grantedIn(who, MS), [...allowed.cluster, ...allowed.metallbSystem])).toEqual({ extra: [], missing: [] });
    // kube-ovn-controller's flags (U6) are the controller's only rule in kube-system.
    const kubeSystem = [...allowed.cluster, ...(who === 'controller' ? rules('apps', ['deployments'], READ) : [])];
    expect(compare(grantedIn(who, 'kube-system'), kubeSystem)).toEqual({ extra: [], missing: [] });
  });

  test('speaker: reads what it watches, writes only its status objects and events', () => {
    for (const [verb, res, ns] of [
      ['list', 'services', undefined], ['watch', 'services', undefined], ['list', 'endpointslices.discovery.k8s.io', undefined],
      ['list', 'nodes', undefined], ['list', 'ipaddresspools.metallb.io', MS], ['list', 'bgppeers.metallb.io', MS],
      ['create', 'servicel2statuses.metallb.io', MS], ['delete', 'servicebgpstatuses.metallb.io', MS],
      ['patch', 'servicel2statuses.metallb.io/status', MS], ['create', 'events', NS], ['get', 'secrets', MS],
      ['create', 'configurationstates.metallb.io', MS], ['patch', 'configurationstates.metallb.io/status', MS],
    ] as [string, string, string | undefined][]) expect(`${verb} ${res}: ${canI('speaker', verb, res, ns)}`).toBe(`${verb} ${res}: true`);
    for (const [verb, res, ns] of [
      ['update', 'services', NS], ['patch', 'services', NS], ['update', 'services/status', NS], ['patch', 'services/status', NS],
      ['delete', 'services', NS], ['get', 'secrets', NS], ['get', 'secrets', 'default'], ['list', 'secrets', undefined],
      ['create', 'secrets', MS], ['update', 'secrets', MS], ['create', 'pods', MS], ['create', 'pods', NS], ['list', 'pods', MS],
      ['create', 'ipaddresspools.metallb.io', MS], ['update', 'bgppeers.metallb.io', MS], ['delete', 'l2advertisements.metallb.io', MS],
      ['patch', 'ipaddresspools.metallb.io/status', MS], ['delete', 'configurationstates.metallb.io', MS], ['list', 'configurationstates.metallb.io', MS],
      ['create', 'configurationstates.metallb.io', NS], ['update', 'nodes', undefined],
      ['patch', 'nodes/status', undefined], ['update', 'configmaps', MS], ['create', 'servicel2statuses.metallb.io', NS],
      ['create', 'clusterrolebindings.rbac.authorization.k8s.io', undefined], ['impersonate', 'serviceaccounts', MS],
      ['create', 'serviceaccounts/token', MS],
    ] as [string, string, string | undefined][]) expect(`${verb} ${res} in ${ns ?? 'all'}: ${canI('speaker', verb, res, ns)}`).toBe(`${verb} ${res} in ${ns ?? 'all'}: false`);
  });

  test('speaker: real requests', () => {
    // Allowed: reading, its own status objects (create, status patch, delete), events.
    expect(as('speaker', ['get', 'svc', '-A', '-o', 'name']).ok).toBe(true);
    expect(as('speaker', ['get', 'endpointslices', '-A', '-o', 'name']).ok).toBe(true);
    expect(as('speaker', ['get', 'nodes', '-o', 'name']).ok).toBe(true);
    expect(as('speaker', ['-n', MS, 'get', 'ipaddresspools,l2advertisements,bgppeers,bgpadvertisements,bfdprofiles,communities', '-o', 'name']).ok).toBe(true);
    const created = as('speaker', ['-n', MS, 'create', '-o', 'jsonpath={.metadata.name}', '-f', '-'], `apiVersion: metallb.io/v1beta1
kind: ServiceL2Status
metadata:
  generateName: ${TAG}-
  namespace: ${MS}
`);
    expect(created.ok, created.out).toBe(true);
    const status = as('speaker', ['-n', MS, 'patch', 'servicel2status', created.out, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: { node: 'n1', serviceName: 'victim', serviceNamespace: NS } })]);
    expect(status.ok, status.out).toBe(true);
    expect(as('speaker', ['-n', MS, 'delete', 'servicel2status', created.out]).ok).toBe(true);
    const ev = as('speaker', ['-n', NS, 'create', '-f', '-'], `apiVersion: v1
kind: Event
metadata:
  name: ${TAG}-speaker
involvedObject: {kind: Service, namespace: ${NS}, name: victim, apiVersion: v1}
reason: Test
message: security test
type: Normal
`);
    expect(ev.ok, ev.out).toBe(true);
    // Denied, each with the API server's Forbidden naming the speaker.
    const forbidden = (r: { ok: boolean; out: string }) => {
      expect(r.ok, r.out).toBe(false);
      expect(r.out).toMatch(/Forbidden|forbidden/);
      expect(r.out).toContain(`system:serviceaccount:${MS}:speaker`);
    };
    forbidden(as('speaker', ['-n', NS, 'patch', 'svc', 'victim', '--type=merge', '-p', '{"metadata":{"annotations":{"x":"y"}}}']));
    forbidden(as('speaker', ['-n', NS, 'patch', 'svc', 'victim', '--subresource=status', '--type=merge', '-p', '{"status":{"loadBalancer":{"ingress":[{"ip":"203.0.113.9"}]}}}']));
    forbidden(as('speaker', ['-n', NS, 'delete', 'svc', 'victim']));
    forbidden(as('speaker', ['-n', 'default', 'get', 'secret', TAG]));
    forbidden(as('speaker', ['get', 'secrets', '-A']));
    forbidden(as('speaker', ['-n', MS, 'create', 'secret', 'generic', `${TAG}-x`, '--from-literal=a=b']));
    forbidden(as('speaker', ['-n', NS, 'run', 'evil', '--image=busybox', '--restart=Never']));
    forbidden(as('speaker', ['-n', MS, 'create', '-f', '-'], `apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: ${TAG}-evil, namespace: ${MS}}
spec: {addresses: [203.0.113.0/28]}
`));
    forbidden(as('speaker', ['delete', 'node', 'no-such-node']));
    // The Service is untouched.
    expect(kubectlJson<any>(['-n', NS, 'get', 'svc', 'victim']).metadata.annotations?.x).toBeUndefined();
  });

  test('controller: allowed and denied requests', async () => {
    for (const [verb, res, ns] of [
      ['patch', 'services/status', NS], ['update', 'services/status', NS], ['patch', 'services', NS], ['create', 'events', NS],
      ['patch', 'ipaddresspools.metallb.io/status', MS], ['create', 'configurationstates.metallb.io', MS],
      ['patch', 'configurationstates.metallb.io/status', MS], ['create', 'secrets', MS], ['get', 'secrets', MS],
      ['update', 'leases.coordination.k8s.io', MS], ['list', 'namespaces', undefined],
    ] as [string, string, string | undefined][]) expect(`${verb} ${res}: ${canI('controller', verb, res, ns)}`).toBe(`${verb} ${res}: true`);
    for (const [verb, res, ns] of [
      ['get', 'secrets', NS], ['get', 'secrets', 'default'], ['list', 'secrets', undefined], ['get', 'secrets', 'kube-system'],
      ['delete', 'secrets', MS], ['delete', 'nodes', undefined], ['update', 'nodes', undefined], ['create', 'pods', NS],
      ['delete', 'services', NS], ['create', 'services', NS], ['create', 'ipaddresspools.metallb.io', MS],
      ['update', 'bgppeers.metallb.io', MS], ['delete', 'l2advertisements.metallb.io', MS], ['create', 'servicel2statuses.metallb.io', MS],
      ['update', 'configmaps', MS], ['delete', 'namespaces', undefined], ['create', 'clusterrolebindings.rbac.authorization.k8s.io', undefined],
      ['impersonate', 'serviceaccounts', MS], ['create', 'serviceaccounts/token', MS], ['delete', 'validatingwebhookconfigurations.admissionregistration.k8s.io', undefined],
    ] as [string, string, string | undefined][]) expect(`${verb} ${res} in ${ns ?? 'all'}: ${canI('controller', verb, res, ns)}`).toBe(`${verb} ${res} in ${ns ?? 'all'}: false`);
    // Real requests: what it writes (server dry-run still authorizes), and what it may not read.
    const st = await api('controller', 'PATCH', `/api/v1/namespaces/${NS}/services/victim/status?dryRun=All`, { status: { loadBalancer: { ingress: [{ ip: '203.0.113.9' }] } } });
    expect(st.status, st.text).toBe(200);
    const ann = await api('controller', 'PATCH', `/api/v1/namespaces/${NS}/services/victim?dryRun=All`, { metadata: { annotations: { 'metallb.io/ip-allocated-from-pool': 'x' } } });
    expect(ann.status, ann.text).toBe(200);
    const pool = await api('controller', 'POST', `/apis/metallb.io/v1beta1/namespaces/${MS}/ipaddresspools?dryRun=All`, { apiVersion: 'metallb.io/v1beta1', kind: 'IPAddressPool', metadata: { name: 'x' }, spec: { addresses: ['203.0.113.0/28'] } }, 'application/json');
    expect(pool.status, pool.text).toBe(403);
    // The speaker's status write on a Service is refused by the API server itself, not only by can-i.
    const spk = await api('speaker', 'PATCH', `/api/v1/namespaces/${NS}/services/victim/status`, { status: { loadBalancer: { ingress: [{ ip: '203.0.113.9' }] } } });
    expect(spk.status, spk.text).toBe(403);
    const sec = as('controller', ['-n', MS, 'create', 'secret', 'generic', 'memberlist-dry', '--dry-run=server', '--from-literal=secretkey=x']);
    expect(sec.ok, sec.out).toBe(true);
    expect(as('controller', ['-n', 'default', 'get', 'secret', TAG]).out).toMatch(/forbidden/i);
    expect(as('controller', ['get', 'secrets', '-A']).out).toMatch(/forbidden/i);
    expect(as('controller', ['delete', 'node', 'no-such-node']).out).toMatch(/forbidden/i);
  });
});

/** A TCP listener on a free port below 16384 (BGPPeer.spec.peerPort's maximum). */
async function listen(host: string): Promise<{ server: Server; port: number; connections: () => number }> {
  let n = 0;
  const server = createServer((s) => {
    n++;
    s.destroy();
  });
  for (let attempt = 0; ; attempt++) {
    const port = 10_000 + Math.floor(Math.random() * 6000);
    const ok = await new Promise<boolean>((res) => {
      server.once('error', () => res(false));
      server.listen(port, host, () => res(true));
    });
    if (ok) break;
    if (attempt > 50) throw new Error(`no free port on ${host}`);
  }
  const addr = server.address();
  return { server, port: typeof addr === 'object' && addr ? addr.port : 0, connections: () => n };
}

describe('no secret in any log line', () => {
  test('controller and speaker logs with BGP passwords (inline and passwordSecret) and the memberlist key', async () => {
    const l = lab();
    const inlinePassword = `inline-${randomBytes(10).toString('hex')}`;
    const secretPassword = `fromsecret-${randomBytes(10).toString('hex')}`;
    // Two "routers" on loopback only: the speaker's MD5-signed SYNs reach them and are dropped by
    // the kernel (no key on the listener), so no session is ever accepted.
    const r1 = await listen('127.0.0.2');
    const r2 = await listen('127.0.0.3');
    const node = `${TAG}-node`;
    const ctl = startController(['--log-level', 'all']);
    let speaker: ReturnType<typeof spawn> | undefined;
    const speakerLog = join(l.dir, 'logs', `${TAG}-speaker.log`);
    try {
      apply(`apiVersion: v1
kind: Node
metadata:
  name: ${node}
  labels: {kubernetes.io/hostname: ${node}}
`);
      kubectl(['patch', 'node', node, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: { addresses: [{ type: 'InternalIP', address: '127.0.0.1' }], conditions: [{ type: 'Ready', status: 'True', reason: 'Test', message: 'test', lastHeartbeatTime: new Date().toISOString(), lastTransitionTime: new Date().toISOString() }] } })]);
      apply(secretYaml(`${TAG}-bgp`, MS, { password: secretPassword }, 'kubernetes.io/basic-auth'));
      apply(`apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: sec-pool, namespace: ${MS}}
spec: {addresses: [203.0.113.0/28], autoAssign: false}
---
apiVersion: metallb.io/v1beta2
kind: BGPPeer
metadata: {name: sec-inline, namespace: ${MS}}
spec: {myASN: 64513, peerASN: 64512, peerAddress: 127.0.0.2, peerPort: ${r1.port}, password: "${inlinePassword}"}
---
apiVersion: metallb.io/v1beta2
kind: BGPPeer
metadata: {name: sec-secret, namespace: ${MS}}
spec: {myASN: 64513, peerASN: 64512, peerAddress: 127.0.0.3, peerPort: ${r2.port}, passwordSecret: {name: ${TAG}-bgp, namespace: ${MS}}}
`);
      await waitFor('controller: initial full pass', () => ctl.logText().includes('initial full pass done'), 30_000);
      const memberlist = await waitFor('memberlist Secret', () => {
        const s = kubectlJson<any>(['-n', MS, 'get', 'secret', 'memberlist']);
        return s.data?.secretkey as string | undefined;
      });
      const mlPort = await listen('127.0.0.1').then(async (x) => {
        await new Promise((r) => x.server.close(r));
        return x.port;
      });
      const fd = openSync(speakerLog, 'a');
      speaker = spawn(process.execPath, [join(projectRoot(), 'bin', 'ironlb.js'), 'speaker', '--node-name', node, '--kubeconfig', kubeconfigs.get('speaker') as string,
        '--log-level', 'all', '--metrics-port', '0', '--ml-bind-addr', '127.0.0.1', '--ml-bind-port', String(mlPort), '--ovsdb', `unix:${join(l.dir, 'no-ovsdb.sock')}`], { stdio: ['ignore', fd, fd] });
      // The speaker tried both peers (with MD5), none was accepted.
      await waitFor('speaker tried both peers', () => {
        const text = readFileSync(speakerLog, 'utf8');
        return text.includes('sec-inline') && text.includes('sec-secret') ? true : undefined;
      }, 45_000);
      await new Promise((r) => setTimeout(r, 3000));
      expect(speaker.exitCode, readFileSync(speakerLog, 'utf8').slice(-2000)).toBeNull();
      expect(r1.connections() + r2.connections(), 'a session without the right MD5 key was accepted').toBe(0);

      const secrets: Record<string, string> = {
        'inline BGP password': inlinePassword,
        'passwordSecret BGP password': secretPassword,
        'memberlist key (as stored)': memberlist,
        'memberlist key': Buffer.from(memberlist, 'base64').toString('utf8'),
        'unrelated Secret in metallb-system': OTHER_SECRET_VALUE,
      };
      const needles: [string, string][] = Object.entries(secrets).flatMap(([what, v]) => [
        [what, v],
        [`${what} (base64)`, Buffer.from(v).toString('base64')],
      ]);
      const logs = { controller: ctl.logText(), speaker: readFileSync(speakerLog, 'utf8') };
      expect(logs.controller.split('\n').length).toBeGreaterThan(5);
      expect(logs.speaker.split('\n').length).toBeGreaterThan(5);
      const leaks: string[] = [];
      for (const [component, text] of Object.entries(logs)) {
        text.split('\n').forEach((line, i) => {
          for (const [what, v] of needles) if (line.includes(v)) leaks.push(`${component} log line ${i + 1} holds the ${what}: ${line.slice(0, 300)}`);
        });
      }
      expect(leaks).toEqual([]);
      // The check itself sees a value that is there.
      expect(logs.speaker.includes('sec-inline')).toBe(true);
    } finally {
      if (speaker && speaker.exitCode === null) {
        const exited = new Promise((r) => speaker?.once('exit', r));
        speaker.kill('SIGKILL');
        await exited;
      }
      await ctl.stop();
      r1.server.close();
      r2.server.close();
      for (const k of ['bgppeer/sec-inline', 'bgppeer/sec-secret', 'ipaddresspool/sec-pool']) kubectl(['-n', MS, 'delete', k, '--ignore-not-found']);
      kubectl(['delete', 'node', node, '--ignore-not-found']);
      resetConfig();
    }
  }, 120_000);
});
