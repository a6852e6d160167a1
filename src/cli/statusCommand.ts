// `ironlb status [namespace/name]`: why each LoadBalancer Service has (or has not) got an IP, and
// who announces it. A table for people, `-o json` for scripts.
import { loadKubeConfig } from '../k8s/client.js';
import { collectStatusInputs } from '../status/collect.js';
import { explainServices, type ServiceReport } from '../status/explain.js';

export interface StatusFlags {
  kubeconfig?: string;
  namespace: string;
  lbClass?: string;
  output: string;
}

export async function runStatus(service: string | undefined, flags: StatusFlags): Promise<void> {
  if (service !== undefined && !/^[^/]+\/[^/]+$/.test(service)) {
    process.stderr.write(`ironlb status: "${service}" is not namespace/name (e.g. default/web)\n`);
    process.exit(2);
  }
  if (flags.output !== 'table' && flags.output !== 'json') {
    process.stderr.write(`ironlb status: -o ${flags.output} is not supported; use table or json\n`);
    process.exit(2);
  }
  const started = performance.now();
  let reports: ServiceReport[];
  try {
    const inputs = await collectStatusInputs(loadKubeConfig(flags.kubeconfig), {
      namespace: flags.namespace, ...(service ? { service } : {}), ...(flags.lbClass ? { lbClass: flags.lbClass } : {}),
    });
    reports = explainServices(inputs);
  } catch (e) {
    process.stderr.write(`ironlb status: ${(e as Error).message}\n`);
    process.exit(1);
  }
  const tookMs = Math.round(performance.now() - started);
  if (flags.output === 'json') {
    process.stdout.write(JSON.stringify({ services: reports, tookMs }, null, 2) + '\n');
  } else {
    process.stdout.write(formatTable(reports) + `\n(${reports.length} LoadBalancer Service${reports.length === 1 ? '' : 's'}, read in ${tookMs} ms)\n`);
  }
  if (service && reports.length === 0) process.exitCode = 1;
}

export function announcedBy(r: ServiceReport): string {
  return r.announcers
    .map((a) => a.protocol === 'layer2'
      ? `${a.node} (layer2${a.interfaces?.length ? ` on ${a.interfaces.join(',')}` : ''})`
      : `${a.node} (bgp${a.peers?.length ? ` to ${a.peers.join(',')}` : ''})`)
    .join(', ');
}

export function formatTable(reports: readonly ServiceReport[]): string {
  const rows = [['SERVICE', 'EXTERNAL-IP', 'POOL', 'ANNOUNCED BY', 'STATUS']];
  for (const r of reports) {
    rows.push([r.service, r.ips.join(',') || '<none>', r.pool ?? '-', announcedBy(r) || '-', r.state === 'ok' ? 'ok' : `${r.state}: ${r.reason ?? ''}`]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  const lines = rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ').trimEnd());
  const details = reports.filter((r) => r.detail).map((r) => `  ${r.service}: ${r.detail}`);
  return [...lines, ...(details.length ? ['', 'details:', ...details] : [])].join('\n');
}
