// Node/V8 options the speaker runs with: in the lab (src/lab/lab.ts) and, as NODE_OPTIONS, in the
// speaker DaemonSet of manifests/ and the Helm chart (test/unit/packaging.test.ts checks they agree).
// V8 reserves 16 MiB semi-spaces for the young generation by default; the speaker allocates
// little per second, so 1 MiB semi-spaces trade a few more (sub-millisecond) scavenges for about
// 20 MiB less resident memory, toward issue 7's 64 MiB speaker goal.
export const SPEAKER_NODE_OPTIONS = ['--max-semi-space-size=1'] as const;
