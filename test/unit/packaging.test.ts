// Static checks of the packaging (no Docker, no helm, no kind here): the Dockerfile's stages,
// user and COPY sources; the kustomize overlays rendered with kubectl's built-in kustomize when
// the lab's kubectl is cached; the Helm chart's CRDs and .Values paths; the kind configs,
// scripts and CI workflow. test/e2e/manifestsApply.test.ts dry-runs the outputs on a real API server.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
// @ts-expect-error -- plain ESM build script without type declarations
import { CHART_CRDS_DIR, chartCrdFiles, MANIFESTS_DIR, NATIVE_BUNDLE } from '../../manifests/build.mjs';

const ROOT = join(MANIFESTS_DIR as string, '..');
const read = (rel: string) => readFileSync(join(ROOT, rel), 'utf8');
type Obj = Record<string, any>;
const docsOf = (text: string): Obj[] =>
  parseAllDocuments(text)
    .map((d) => {
      expect(d.errors).toEqual([]);
      return d.toJS() as Obj | null;
    })
    .filter((d): d is Obj => d !== null);
const pkg = JSON.parse(read('package.json')) as { version: string; scripts: Record<string, string> };

// ---------------------------------------------------------------------------------------------
// Dockerfile

interface Instruction {
  readonly op: string;
  readonly args: string;
  readonly line: number;
}

/** Instructions of a Dockerfile: comments dropped, backslash continuations joined. */
export function dockerInstructions(text: string): Instruction[] {
  const out: Instruction[] = [];
  let buf = '';
  let start = 0;
  text.split('\n').forEach((raw, i) => {
    const line = raw.trimEnd();
    if (buf === '' && (line.trim() === '' || line.trimStart().startsWith('#'))) return;
    if (buf !== '' && line.trimStart().startsWith('#')) return; // comment inside a continuation
    if (buf === '') start = i + 1;
    if (line.endsWith('\\')) {
      buf += `${line.slice(0, -1)} `;
      return;
    }
    buf += line;
    const m = /^\s*(\w+)\s+([\s\S]*)$/.exec(buf);
    if (!m) throw new Error(`Dockerfile line ${start}: not an instruction: ${buf}`);
    out.push({ op: m[1]!.toUpperCase(), args: m[2]!.trim(), line: start });
    buf = '';
  });
  if (buf !== '') throw new Error('Dockerfile ends inside a continuation');
  return out;
}

interface Stage {
  readonly name: string;
  readonly image: string;
  readonly instructions: Instruction[];
}

function dockerStages(instructions: Instruction[]): Stage[] {
  const args = new Map<string, string>();
  const stages: Stage[] = [];
  for (const ins of instructions) {
    if (ins.op === 'ARG' && stages.length === 0) {
      const [k, v] = ins.args.split('=');
      args.set(k!, v ?? '');
    } else if (ins.op === 'FROM') {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.args);
      if (!m) throw new Error(`FROM line ${ins.line}: ${ins.args}`);
      const image = m[1]!.replace(/\$\{(\w+)\}/g, (_, k: string) => args.get(k) ?? `\${${k}}`);
      stages.push({ name: m[2] ?? String(stages.length), image, instructions: [] });
    } else {
      const current = stages.at(-1);
      if (!current) throw new Error(`Dockerfile line ${ins.line}: ${ins.op} before FROM`);
      current.instructions.push(ins);
    }
  }
  return stages;
}

/** COPY's flags and its sources (the last word is the destination). */
function copyParts(args: string): { from?: string; sources: string[]; dest: string } {
  const words = args.split(/\s+/);
  let from: string | undefined;
  while (words[0]?.startsWith('--')) {
    const flag = words.shift()!;
    if (flag.startsWith('--from=')) from = flag.slice('--from='.length);
  }
  const dest = words.pop();
  if (dest === undefined || words.length === 0) throw new Error(`COPY ${args}: needs a source and a destination`);
  return { ...(from !== undefined ? { from } : {}), sources: words, dest };
}

/** Whether .dockerignore (only "*", "!path" and "dir/*\/sub/" forms) keeps a context path. */
function dockerignoreKeeps(rules: string[], path: string): boolean {
  let kept = true;
  for (const rule of rules) {
    const negate = rule.startsWith('!');
    const pattern = (negate ? rule.slice(1) : rule).replace(/\/$/, '');
    const re = new RegExp(`^${pattern.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('[^/]*')}(/.*)?$`);
    if (pattern === '*' || re.test(path)) kept = negate;
  }
  return kept;
}

const dockerfile = dockerInstructions(read('Dockerfile'));
const stages = dockerStages(dockerfile);
const ignoreRules = read('.dockerignore')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l !== '' && !l.startsWith('#'));

describe('Dockerfile', () => {
  it('builds in node:20-bookworm and runs on node:20-bookworm-slim (same glibc)', () => {
    expect(stages.map((s) => s.name)).toEqual(['build', 'deps', 'runtime']);
    expect(stages[0]!.image).toBe('node:20-bookworm');
    expect(stages.at(-1)!.image).toBe('node:20-bookworm-slim');
    const buildRuns = stages[0]!.instructions.filter((i) => i.op === 'RUN').map((i) => i.args).join('\n');
    for (const tool of ['python3', 'make', 'g++']) expect(buildRuns).toContain(tool);
    expect(buildRuns).toContain('npm run build');
    // The addons the image tests for are the ones package.json builds.
    const built = /native\/build\.sh ([\w ]+?) &&/.exec(pkg.scripts.build ?? '')?.[1]?.split(' ') ?? [];
    expect(built.length).toBeGreaterThan(0);
    for (const addon of built) expect(buildRuns).toContain(`native/${addon}/build/Release/${addon}.node`);
  });

  it('runs as 65534 by default and has an entrypoint that exists', () => {
    const runtime = stages.at(-1)!.instructions;
    const users = runtime.filter((i) => i.op === 'USER');
    expect(users.at(-1)?.args).toBe('65534:65534');
    const entry = JSON.parse(runtime.find((i) => i.op === 'ENTRYPOINT')!.args) as string[];
    expect(entry[0]).toBe('node');
    expect(existsSync(join(ROOT, entry[1]!.replace(/^\/ironlb\//, '')))).toBe(true);
  });

  it('the runtime image installs the tools the speaker executes (nft, ip)', () => {
    const runtimeRuns = stages.at(-1)!.instructions.filter((i) => i.op === 'RUN').map((i) => i.args).join('\n');
    const installed = /apt-get install[^&]*/.exec(runtimeRuns)?.[0]?.split(/\s+/) ?? [];
    // src/vlan/kernelInterfaces.ts runs `ip -j -d address show` (iproute2); BFD's TTL guard runs nft.
    expect(read('src/vlan/kernelInterfaces.ts')).toMatch(/execFile\('ip'/);
    expect(installed).toContain('iproute2');
    expect(installed).toContain('nftables');
  });

  it('has no ADD and fetches nothing in COPY', () => {
    expect(dockerfile.filter((i) => i.op === 'ADD')).toEqual([]);
    for (const i of dockerfile.filter((x) => x.op === 'COPY')) expect(i.args).not.toMatch(/https?:\/\//);
  });

  it('copies from the context only paths that exist and .dockerignore keeps', () => {
    const fromContext = dockerfile.filter((i) => i.op === 'COPY').map((i) => copyParts(i.args)).filter((c) => c.from === undefined);
    expect(fromContext.length).toBeGreaterThan(3);
    for (const c of fromContext) {
      for (const src of c.sources) {
        expect(existsSync(join(ROOT, src)), `COPY ${src}`).toBe(true);
        expect(dockerignoreKeeps(ignoreRules, src), `.dockerignore drops ${src}`).toBe(true);
      }
    }
    // Local build output never enters the context.
    expect(dockerignoreKeeps(ignoreRules, 'native/afpacket/build/Release/afpacket.node')).toBe(false);
    expect(dockerignoreKeeps(ignoreRules, 'dist/src/cli/main.js')).toBe(false);
    expect(dockerignoreKeeps(ignoreRules, 'node_modules/yaml/package.json')).toBe(false);
    expect(dockerignoreKeeps(ignoreRules, 'native/afpacket/afpacket.c')).toBe(true);
  });

  it('the runtime stage copies build output of earlier stages that npm run build produces', () => {
    const runtime = stages.at(-1)!;
    const earlier = new Set(stages.slice(0, -1).map((s) => s.name));
    const copies = runtime.instructions.filter((i) => i.op === 'COPY').map((i) => copyParts(i.args)).filter((c) => c.from !== undefined);
    for (const c of copies) expect(earlier.has(c.from!), `--from=${c.from}`).toBe(true);
    const built = copies.filter((c) => c.from === 'build').flatMap((c) => c.sources.map((s) => s.replace(/^\/src\//, '')));
    // Local `npm run build` output has the same paths (the build stage runs the same script).
    for (const path of built) expect(existsSync(join(ROOT, path)), `${path} (run npm run build)`).toBe(true);
    expect(built).toContain('dist/src');
    expect(built.filter((p) => p.endsWith('.node'))).toHaveLength(2);
    expect(copies.find((c) => c.from === 'deps')?.sources).toEqual(['/src/node_modules']);
    expect(stages.find((s) => s.name === 'deps')!.instructions.map((i) => i.args).join('\n')).toContain('--omit=dev');
  });

  it('the parser joins continuations and skips comments inside them', () => {
    expect(dockerInstructions('FROM a AS b\nRUN x \\\n  # note\n  && y\n').map((i) => i.args)).toEqual(['a AS b', 'x    && y']);
    expect(() => dockerInstructions('FROM a\n???\n')).toThrow(/not an instruction/);
  });
});

// ---------------------------------------------------------------------------------------------
// kustomize (kubectl's built-in kustomize from the lab's cache, when it is there)

function cachedKubectl(): string | undefined {
  const cache = join(homedir(), '.cache', 'ironlb');
  if (!existsSync(cache)) return undefined;
  for (const d of readdirSync(cache).filter((n) => n.startsWith('k8s-')).sort().reverse()) {
    const k = join(cache, d, 'bin', 'kubectl');
    if (existsSync(k)) return k;
  }
  return undefined;
}
const kubectlBin = cachedKubectl();

function kustomize(dir: string): Obj[] {
  const r = spawnSync(kubectlBin!, ['kustomize', join(ROOT, dir)], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`kubectl kustomize ${dir}: ${r.stderr}`);
  return docsOf(r.stdout);
}
const keyOf = (o: Obj) => `${String(o.apiVersion).split('/').slice(0, -1).join('/')}/${o.kind}/${o.metadata?.namespace ?? ''}/${o.metadata?.name}`;
const find = (docs: Obj[], kind: string, name: string) => docs.find((d) => d.kind === kind && d.metadata?.name === name);

describe('kustomize overlays (kubectl kustomize)', () => {
  beforeAll(() => {
    // A missing prerequisite fails with the fix, never a silent skip.
    if (kubectlBin === undefined) throw new Error('kubectl is not built yet: run "bash scripts/build-k8s-binaries.sh" (npm test does it first)');
  });
  const bundle = docsOf(read(`manifests/${NATIVE_BUNDLE as string}`));

  it('config/native is exactly the one-file install', () => {
    const native = kustomize('config/native');
    expect(native.map(keyOf).sort()).toEqual(bundle.map(keyOf).sort());
    for (const o of bundle) expect(native.find((n) => keyOf(n) === keyOf(o))).toEqual(o);
  });

  it('config/openshift drops the fixed ids, runs the speaker as root and grants the privileged SCC', () => {
    const os = kustomize('config/openshift');
    const controller = find(os, 'Deployment', 'controller')!;
    const podSc = controller.spec.template.spec.securityContext as Obj;
    for (const k of ['runAsUser', 'runAsGroup', 'fsGroup']) expect(podSc).not.toHaveProperty(k);
    expect(podSc.runAsNonRoot).toBe(true);
    const speaker = find(os, 'DaemonSet', 'speaker')!;
    expect(speaker.spec.template.spec.containers[0].securityContext.runAsUser).toBe(0);
    const role = find(os, 'Role', 'speaker-scc-privileged')!;
    expect(role.rules).toEqual([{ apiGroups: ['security.openshift.io'], resources: ['securitycontextconstraints'], resourceNames: ['privileged'], verbs: ['use'] }]);
    const binding = find(os, 'RoleBinding', 'speaker-scc-privileged')!;
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: speaker.spec.template.spec.serviceAccountName, namespace: 'metallb-system' }]);
    // Everything else is the plain install.
    expect(os.length).toBe(bundle.length + 2);
  });

  it('config/prometheus monitors both components on a port their pods declare', () => {
    const prom = kustomize('config/prometheus');
    const monitors = prom.filter((d) => d.kind === 'PodMonitor');
    expect(monitors.map((m) => m.metadata.name).sort()).toEqual(['controller-monitor', 'speaker-monitor']);
    for (const m of monitors) {
      const pods = prom.filter((d) => (d.kind === 'Deployment' || d.kind === 'DaemonSet') && Object.entries(m.spec.selector.matchLabels as Obj).every(([k, v]) => d.spec.template.metadata.labels[k] === v));
      expect(pods, m.metadata.name).toHaveLength(1);
      const ports = (pods[0]!.spec.template.spec.containers[0].ports as Obj[]).filter((p) => p.name === m.spec.podMetricsEndpoints[0].port);
      expect(ports.map((p) => p.containerPort)).toEqual([7472]);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Helm chart (not rendered here: no helm binary)

const CHART = 'charts/ironlb';
const values = parse(read(`${CHART}/values.yaml`)) as Obj;
const templateFiles = readdirSync(join(ROOT, CHART, 'templates')).filter((f) => /\.(yaml|tpl|txt)$/.test(f));

/** `.Values.a.b` paths (also `$.Values...` and `index $.Values $x "k"` with a literal list of x). */
export function valuesPaths(template: string): string[] {
  const paths = new Set<string>();
  for (const m of template.matchAll(/\$?\.Values((?:\.[A-Za-z_][\w]*)+)/g)) paths.add(m[1]!.slice(1));
  // monitoring.yaml: {{- range $component := list "controller" "speaker" }} ... index $.Values $component "enabled"
  for (const r of template.matchAll(/range \$(\w+) := list((?: "[\w-]+")+)/g)) {
    const items = [...r[2]!.matchAll(/"([\w-]+)"/g)].map((x) => x[1]!);
    for (const ix of template.matchAll(new RegExp(`index \\$\\.Values \\$${r[1]}((?: "[\\w-]+")+)`, 'g'))) {
      const rest = [...ix[1]!.matchAll(/"([\w-]+)"/g)].map((x) => x[1]!);
      for (const item of items) paths.add([item, ...rest].join('.'));
    }
  }
  return [...paths].sort();
}

function hasPath(obj: Obj, path: string): boolean {
  let node: unknown = obj;
  for (const step of path.split('.')) {
    if (typeof node !== 'object' || node === null || !(step in node)) return false;
    node = (node as Obj)[step];
  }
  return true;
}

/** Opening actions (if/with/range/define/block) minus {{ end }}s, in order; never negative. */
function blockBalance(template: string): number {
  let depth = 0;
  for (const m of template.matchAll(/\{\{-?\s*(if|with|range|define|block|end)\b/g)) {
    depth += m[1] === 'end' ? -1 : 1;
    if (depth < 0) return -1;
  }
  return depth;
}

describe('Helm chart charts/ironlb', () => {
  it('carries the CRDs of manifests/crds byte for byte (node manifests/build.mjs)', () => {
    const want = chartCrdFiles() as Map<string, string>;
    const have = readdirSync(CHART_CRDS_DIR as string).sort();
    expect(have).toEqual([...want.keys()]);
    for (const [f, text] of want) expect(readFileSync(join(CHART_CRDS_DIR as string, f), 'utf8') === text, `${f}: run node manifests/build.mjs`).toBe(true);
    expect(read(`${CHART}/templates/crds.yaml`)).toContain('.Files.Glob "files/crds/*.yaml"');
  });

  it('uses only .Values paths that values.yaml defines', () => {
    const used = templateFiles.flatMap((f) => valuesPaths(read(`${CHART}/templates/${f}`)).map((p) => ({ f, p })));
    expect(used.length).toBeGreaterThan(40);
    expect(used.filter(({ p }) => !hasPath(values, p)).map(({ f, p }) => `${f}: .Values.${p}`)).toEqual([]);
  });

  it('the path checker catches a missing key', () => {
    const t = '{{ .Values.speaker.memberlist.enabled }} {{ $.Values.speaker.nope }} {{- range $c := list "controller" "bogus" }}{{ index $.Values $c "enabled" }}{{ end }}';
    expect(valuesPaths(t).filter((p) => !hasPath(values, p))).toEqual(['bogus.enabled', 'speaker.nope']);
  });

  it('has balanced template blocks', () => {
    for (const f of templateFiles) expect(blockBalance(read(`${CHART}/templates/${f}`)), f).toBe(0);
    expect(blockBalance('{{ if .x }}{{ end }}{{ end }}')).toBe(-1);
  });

  it('has MetalLB-like values and the versions and image of the manifests', () => {
    const chart = parse(read(`${CHART}/Chart.yaml`)) as Obj;
    expect(chart).toMatchObject({ apiVersion: 'v2', name: 'ironlb', appVersion: pkg.version });
    const image = find(docsOf(read('manifests/controller.yaml')), 'Deployment', 'controller')!.spec.template.spec.containers[0].image as string;
    expect(`${values.controller.image.repository}:${pkg.version}`).toBe(image);
    expect(values.speaker.image.repository).toBe(values.controller.image.repository);
    for (const p of ['loadBalancerClass', 'crds.enabled', 'controller.logLevel', 'controller.tolerations', 'controller.nodeSelector', 'speaker.logLevel', 'speaker.tolerations', 'speaker.nodeSelector', 'speaker.memberlist.enabled', 'speaker.memberlist.mlBindPort', 'speaker.ignoreExcludeLB', 'speaker.excludeInterfaces.enabled', 'speaker.frr.enabled', 'frrk8s.enabled', 'prometheus.serviceMonitor.enabled', 'prometheus.podMonitor.enabled']) {
      expect(hasPath(values, p), p).toBe(true);
    }
    expect(values.speaker.frr.enabled).toBe(false);
    expect(read(`${CHART}/templates/checks.yaml`)).toMatch(/if \.Values\.speaker\.frr\.enabled \}\}\s*\{\{- fail/);
  });

  it('the speaker template runs as root with NET_RAW and the controller drops everything', () => {
    const speaker = read(`${CHART}/templates/speaker.yaml`);
    expect(speaker).toMatch(/runAsUser: 0\n\s+allowPrivilegeEscalation: false/);
    expect(speaker).toMatch(/add:\n\s+- NET_RAW\n/);
    expect(speaker).toContain('hostNetwork: true');
    const controller = read(`${CHART}/templates/controller.yaml`);
    expect(controller).toContain('drop: [ALL]');
    expect(controller).not.toContain('add:');
  });
});

// Chart templates with every condition true (the defaults of rbac.create, *.enabled, webhook.enabled):
// block actions dropped, the few includes and values the RBAC and webhook templates use filled in.
const CHART_RELEASE_NS = 'metallb-system';
function renderWithDefaults(template: string): Obj[] {
  const lines = template.split('\n').filter((l) => !/^\s*\{\{-?\s*(if|else|end|with|range|toYaml|include "ironlb\.labels")\b[^}]*\}\}\s*$/.test(l) && !/^\s*\{\{-? (toYaml|include "ironlb\.labels")/.test(l));
  const text = lines
    .join('\n')
    .replace(/\{\{ include "ironlb\.fullname" \. \}\}/g, 'ironlb')
    .replace(/\{\{ include "ironlb\.name" \. \}\}/g, 'ironlb')
    .replace(/\{\{ \.Release\.Name \}\}/g, 'ironlb')
    .replace(/\{\{ include "ironlb\.controllerServiceAccount" \. \}\}/g, 'ironlb-controller')
    .replace(/\{\{ include "ironlb\.speakerServiceAccount" \. \}\}/g, 'ironlb-speaker')
    .replace(/\{\{ \.Release\.Namespace \}\}/g, CHART_RELEASE_NS)
    .replace(/\{\{ \.Values\.([\w.]+) \}\}/g, (_m, path: string) => {
      let node: unknown = values;
      for (const step of path.split('.')) node = (node as Obj)[step];
      return String(node);
    });
  if (/\{\{/.test(text)) throw new Error(`template action left after rendering: ${/.*\{\{.*/.exec(text)?.[0]}`);
  return docsOf(text);
}

/** "group resource verb @scope" granted to a ServiceAccount (by name, in metallb-system) by RBAC docs. */
function grantsOf(docs: Obj[], serviceAccount: string): string[] {
  const out = new Set<string>();
  for (const b of docs.filter((d) => d.kind === 'ClusterRoleBinding' || d.kind === 'RoleBinding')) {
    if (!(b.subjects as Obj[]).some((x) => x.kind === 'ServiceAccount' && x.name === serviceAccount && x.namespace === CHART_RELEASE_NS)) continue;
    const roleKind = b.roleRef.kind as string;
    const role = docs.find((d) => d.kind === roleKind && d.metadata.name === b.roleRef.name && (roleKind === 'ClusterRole' || d.metadata.namespace === b.metadata.namespace));
    if (!role) throw new Error(`${b.kind} ${b.metadata.name}: ${roleKind} ${b.roleRef.name} is missing`);
    const scope = b.kind === 'ClusterRoleBinding' ? 'cluster' : (b.metadata.namespace as string);
    for (const r of role.rules as Obj[]) {
      for (const g of r.apiGroups as string[]) for (const res of r.resources as string[]) for (const v of r.verbs as string[]) out.add(`${g || 'core'} ${res} ${v} @${scope}`);
    }
  }
  return [...out].sort();
}

describe('Helm chart matches manifests/ (the source of truth)', () => {
  const manifestRbac = docsOf(read('manifests/rbac.yaml'));
  const chartRbac = renderWithDefaults(read(`${CHART}/templates/rbac.yaml`));

  it.each([['controller', 'ironlb-controller'], ['speaker', 'ironlb-speaker']])('RBAC of the %s: the same rules per scope', (manifestSa, chartSa) => {
    const want = grantsOf(manifestRbac, manifestSa);
    expect(want.length).toBeGreaterThan(20);
    expect(grantsOf(chartRbac, chartSa)).toEqual(want);
  });

  it('the RBAC comparison notices a drifted rule', () => {
    const drifted = chartRbac.map((d) => (d.kind === 'Role' && d.metadata.name === 'ironlb-pod-lister' ? { ...d, rules: [...(d.rules as Obj[]), { apiGroups: [''], resources: ['pods'], verbs: ['list'] }] } : d));
    expect(grantsOf(drifted, 'ironlb-speaker')).toContain('core pods list @metallb-system');
    expect(grantsOf(drifted, 'ironlb-speaker')).not.toEqual(grantsOf(manifestRbac, 'speaker'));
  });

  it('webhook objects: the same webhooks, rules and paths as manifests/webhook.yaml', () => {
    const mine = renderWithDefaults(read(`${CHART}/templates/webhook.yaml`));
    const theirs = docsOf(read('manifests/webhook.yaml'));
    expect(mine.map((d) => d.kind)).toEqual(theirs.map((d) => d.kind));
    const vwc = (docs: Obj[]) => docs.find((d) => d.kind === 'ValidatingWebhookConfiguration')!;
    expect(vwc(mine).webhooks).toEqual(vwc(theirs).webhooks);
    const svc = mine.find((d) => d.kind === 'Service')!;
    expect(svc.spec.ports).toEqual(theirs.find((d) => d.kind === 'Service')!.spec.ports);
    expect(svc.spec.selector).toMatchObject({ 'app.kubernetes.io/component': 'controller' });
    expect(mine.find((d) => d.kind === 'Secret')!.metadata.name).toBe(values.webhook.certSecretName);
  });

  it('controller: webhook port, leader election and the pod name env as in manifests/controller.yaml', () => {
    const manifest = docsOf(read('manifests/controller.yaml')).find((d) => d.kind === 'Deployment')!.spec.template.spec.containers[0] as Obj;
    const t = read(`${CHART}/templates/controller.yaml`);
    for (const arg of manifest.args as string[]) if (arg.startsWith('--webhook-port') || arg === '--leader-elect') expect(t, arg).toContain(arg.replace('9443', '{{ .Values.webhook.port }}'));
    expect(values.webhook.port).toBe(9443);
    expect(values.controller.leaderElection.enabled).toBe(true);
    expect(t).toContain('name: METALLB_POD_NAME');
    expect(t).toMatch(/- name: webhook\n\s+containerPort: \{\{ \.Values\.webhook\.port \}\}/);
  });

  it('speaker: uid 0, the Open vSwitch hostPath and --ovsdb pointing into it, probes', () => {
    const ds = docsOf(read('manifests/speaker.yaml')).find((d) => d.kind === 'DaemonSet')!;
    const ovs = (ds.spec.template.spec.volumes as Obj[]).find((v) => v.name === 'openvswitch')!;
    expect(values.speaker.openvswitch.runDir).toBe(ovs.hostPath.path);
    const t = read(`${CHART}/templates/speaker.yaml`);
    expect(t).toContain('runAsUser: 0');
    expect(t).toContain('- --ovsdb=unix:{{ .Values.speaker.openvswitch.runDir }}/db.sock');
    // The default endpoint of the speaker is the socket in that directory.
    expect(read('src/cli/main.ts')).toContain(`'unix:${ovs.hostPath.path}/db.sock'`);
    expect(t).toMatch(/mountPath: \{\{ \.Values\.speaker\.openvswitch\.runDir \}\}/);
    expect(t).toMatch(/hostPath:\n\s+path: \{\{ \.Values\.speaker\.openvswitch\.runDir \}\}\n\s+type: DirectoryOrCreate/);
    expect(t).toMatch(/path: \/healthz/);
    expect(t).toMatch(/path: \/readyz/);
  });
});

// ---------------------------------------------------------------------------------------------
// kind configs, the kind provider script and the CI workflow

const kindConfigs = readdirSync(join(ROOT, 'kind-configs')).filter((f) => f.endsWith('.yaml'));

describe('kind', () => {
  it('every kind-configs/*.yaml is a kind Cluster with one control plane', () => {
    expect(kindConfigs.sort()).toEqual(['bgp.yaml', 'kube-ovn-underlay.yaml', 'three-nodes.yaml']);
    for (const f of kindConfigs) {
      const [cfg, ...rest] = docsOf(read(`kind-configs/${f}`));
      expect(rest, f).toEqual([]);
      expect(cfg, f).toMatchObject({ kind: 'Cluster', apiVersion: 'kind.x-k8s.io/v1alpha4' });
      const roles = (cfg!.nodes as Obj[]).map((n) => n.role);
      for (const r of roles) expect(['control-plane', 'worker']).toContain(r);
      expect(roles.filter((r) => r === 'control-plane'), f).toHaveLength(1);
      expect(['ipv4', 'ipv6', 'dual']).toContain(cfg!.networking?.ipFamily ?? 'ipv4');
    }
    expect(docsOf(read('kind-configs/kube-ovn-underlay.yaml'))[0]!.networking.disableDefaultCNI).toBe(true);
  });

  it('shell scripts parse (bash -n) and name only files that exist', () => {
    const scripts = ['e2e/kind/run.sh', 'kind-configs/kube-ovn/install.sh'];
    for (const s of scripts) {
      const r = spawnSync('bash', ['-n', join(ROOT, s)], { encoding: 'utf8' });
      expect(r.status, `${s}: ${r.stderr}`).toBe(0);
      expect(statSync(join(ROOT, s)).mode & 0o111, `${s} is executable`).not.toBe(0);
    }
    const run = read('e2e/kind/run.sh');
    const referenced = [...run.matchAll(/\$root\/([\w./-]+)/g)].map((m) => m[1]!.replace(/[."]+$/, ''));
    expect(referenced.length).toBeGreaterThan(8);
    for (const p of referenced) expect(existsSync(join(ROOT, p)), p).toBe(true);
    for (const f of kindConfigs) expect(run, f).toContain(`kind-configs/${f}`);
  });

  it('the FRR router and the lab-router BGPPeer agree on the ASNs', () => {
    const conf = read('kind-configs/frr/frr.conf');
    const peer = docsOf(read('e2e/scenarios/lab-router/bgp.yaml')).find((d) => d.kind === 'BGPPeer')!;
    expect(conf).toContain(`router bgp ${peer.spec.peerASN}`);
    expect(conf).toContain(`remote-as ${peer.spec.myASN}`);
    expect(conf).toContain('bgp listen range KIND_SUBNET');
    expect(read('e2e/kind/run.sh')).toContain('s/192\\.0\\.2\\.1/');
  });

  it('the Kube-OVN underlay subnet holds the seed pool and excludes it', () => {
    const [pn, vlan, subnet] = docsOf(read('kind-configs/kube-ovn/underlay.yaml'));
    expect([pn!.kind, vlan!.kind, subnet!.kind]).toEqual(['ProviderNetwork', 'Vlan', 'Subnet']);
    expect(vlan!.spec).toEqual({ id: 341, provider: pn!.metadata.name });
    expect(subnet!.spec).toMatchObject({ vlan: vlan!.metadata.name, cidrBlock: '10.180.204.0/24', enableExternalLBAddress: true });
    const pool = docsOf(read('e2e/scenarios/kube-ovn-seed/pool.yaml')).find((d) => d.kind === 'IPAddressPool')!;
    const [from, to] = String(pool.spec.addresses[0]).split('-');
    expect(subnet!.spec.excludeIps).toContain(`${from}..${to}`);
    expect(read('kind-configs/kube-ovn/install.sh')).toMatch(/--enable-ovn-lb-prefer-local=true[\s\S]*--ls-ct-skip-dst-lport-ips=false/);
  });

  it('the CI workflow runs every scenario of run.sh', () => {
    const wf = parse(read('.github/workflows/e2e-kind.yml')) as Obj;
    const scenarios = wf.jobs.kind.strategy.matrix.scenario as string[];
    const cases = /case "\$scenario" in\n([\s\S]*?)\nesac/.exec(read('e2e/kind/run.sh'))![1]!;
    const known = [...cases.matchAll(/^\s+([\w-]+)\)/gm)].map((m) => m[1]!);
    expect([...scenarios].sort()).toEqual([...known].sort());
    const steps = (wf.jobs.kind.steps as Obj[]).map((s) => String(s.run ?? ''));
    expect(steps.some((s) => s.includes('bash e2e/kind/run.sh ${{ matrix.scenario }}'))).toBe(true);
    expect(wf.jobs.kind['runs-on']).toMatch(/^ubuntu-/);
  });
});
