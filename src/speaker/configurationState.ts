// The speaker's ConfigurationState object "speaker-<node>" in the speakers' namespace (MetalLB 1.7:
// one per component, labels metallb.io/component-type=speaker and metallb.io/node-name), so
// `kubectl get configurationstates` shows which speakers run on a configuration they rejected.
import type { Logger } from 'pino';
import { apiStatusCode, describeApiError } from '../k8s/apiErrors.js';
import type { KubeRest } from '../k8s/rest.js';

const GROUP = 'metallb.io';
const VERSION = 'v1beta1';
const PLURAL = 'configurationstates';
const RETRY_MS = 5_000;

export interface ConfigurationStateReport {
  readonly valid: boolean;
  /** The parser's errors, joined; empty when valid. */
  readonly errorSummary: string;
}

/** The status MetalLB's speaker writes: result, errorSummary and the configReconcilerValid condition. */
export function speakerConfigurationStatus(report: ConfigurationStateReport, now: Date): Record<string, unknown> {
  return {
    result: report.valid ? 'Valid' : 'Invalid',
    errorSummary: report.errorSummary,
    conditions: [{
      type: 'configReconcilerValid', status: report.valid ? 'True' : 'False', reason: report.valid ? 'Reconciled' : 'ConfigurationError',
      message: report.valid ? '' : report.errorSummary.slice(0, 32_000), lastTransitionTime: now.toISOString().replace(/\.\d+Z$/, 'Z'),
    }],
  };
}

/** Writes the latest report, one write at a time; a failed write is retried (latest report wins). */
export class SpeakerConfigurationState {
  readonly name: string;
  private wanted: ConfigurationStateReport | undefined;
  private writtenKey: string | undefined;
  private writing = false;
  private retry: ReturnType<typeof setTimeout> | undefined;
  private stopped = false;

  constructor(private readonly api: KubeRest, private readonly opts: { namespace: string; nodeName: string; log: Logger }) {
    this.name = `speaker-${opts.nodeName}`;
  }

  report(r: ConfigurationStateReport): void {
    this.wanted = r;
    void this.flush();
  }

  stop(): void {
    this.stopped = true;
    if (this.retry) clearTimeout(this.retry);
  }

  private async flush(): Promise<void> {
    if (this.writing || this.stopped) return;
    const r = this.wanted;
    if (!r) return;
    const key = JSON.stringify(r);
    if (key === this.writtenKey) return;
    this.writing = true;
    try {
      await this.write(r);
      this.writtenKey = key;
    } catch (e) {
      this.opts.log.warn({ err: describeApiError(e), object: `ConfigurationState ${this.opts.namespace}/${this.name}` }, 'could not write ConfigurationState; retrying');
      if (this.retry) clearTimeout(this.retry);
      this.retry = setTimeout(() => void this.flush(), RETRY_MS);
      this.retry.unref();
    } finally {
      this.writing = false;
    }
    if (this.wanted !== r) void this.flush();
  }

  private async write(r: ConfigurationStateReport): Promise<void> {
    const { namespace, nodeName } = this.opts;
    const name = this.name;
    const collection = `/apis/${GROUP}/${VERSION}/namespaces/${encodeURIComponent(namespace)}/${PLURAL}`;
    try {
      await this.api.get(`${collection}/${encodeURIComponent(name)}`);
    } catch (e) {
      if (apiStatusCode(e) !== 404) throw e;
      try {
        await this.api.create(collection, {
          apiVersion: `${GROUP}/${VERSION}`, kind: 'ConfigurationState',
          metadata: { name, namespace, labels: { 'metallb.io/component-type': 'speaker', 'metallb.io/node-name': nodeName } },
        });
      } catch (c) {
        if (apiStatusCode(c) !== 409) throw c; // created meanwhile: patch it
      }
    }
    await this.api.patch(`${collection}/${encodeURIComponent(name)}/status`, { status: speakerConfigurationStatus(r, new Date()) }, 'merge');
  }
}
