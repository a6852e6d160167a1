// BFD for a BgpSpeaker that drives sockets in another namespace: BfdManager binds its UDP sockets in
// the process's own namespace, so each BFD session runs as test/e2e/fixtures/bfdNode.mjs (the
// compiled BfdManager) under `ip netns exec`, and its state lines come back as BfdStateEvents.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { BfdSessionSpec, BfdStateEvent } from '../../../src/speaker/bfd/bfdManager.js';
import type { BfdPort } from '../../../src/speaker/bgp/bgpSpeaker.js';
import { projectRoot } from '../../../src/lab/projectRoot.js';

const FIXTURE = join(projectRoot(), 'test', 'e2e', 'fixtures', 'bfdNode.mjs');
const COMPILED = join(projectRoot(), 'dist', 'src', 'speaker', 'bfd', 'bfdManager.js');

export class NamespacedBfd implements BfdPort {
  private readonly children = new Map<string, ChildProcess>();
  private readonly callbacks: ((e: BfdStateEvent) => void)[] = [];
  readonly stderr: string[] = [];

  constructor(private readonly ns: string) {
    if (!existsSync(COMPILED)) throw new Error(`${COMPILED} is missing: compile first with "npx tsc -p tsconfig.json"`);
  }

  onStateChange(cb: (e: BfdStateEvent) => void): void {
    this.callbacks.push(cb);
  }

  async addSession(spec: BfdSessionSpec): Promise<void> {
    const key = `${spec.multihop ? 'mh' : 'sh'}|${spec.peer}`;
    if (this.children.has(key)) return;
    if (!spec.local) throw new Error(`NamespacedBfd: session to ${spec.peer} needs a local address (set sourceAddress on the BGP session)`);
    const p = spec.profile;
    const arg = `${spec.peer}@${spec.local}${spec.multihop ? `@multihop@${p.minimumTtl}` : ''}`;
    const child = spawn('ip', ['netns', 'exec', this.ns, process.execPath, FIXTURE, String(p.transmitInterval), String(p.receiveInterval), String(p.detectMultiplier), arg], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.children.set(key, child);
    child.stderr!.on('data', (d: Buffer) => this.stderr.push(d.toString()));
    const ready = new Promise<void>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`bfdNode for ${spec.peer} exited with ${code}: ${this.stderr.join('')}`)));
      createInterface({ input: child.stdout! }).on('line', (line) => {
        let msg: Record<string, unknown>;
        try {
          msg = JSON.parse(line) as Record<string, unknown>;
        } catch {
          return;
        }
        if (msg.kind === 'ready') resolve();
        if (msg.kind === 'state') for (const cb of this.callbacks) cb(msg as unknown as BfdStateEvent);
      });
    });
    await ready;
  }

  removeSession(peer: string, multihop = false): void {
    const key = `${multihop ? 'mh' : 'sh'}|${peer}`;
    const child = this.children.get(key);
    this.children.delete(key);
    child?.kill('SIGTERM');
  }

  async close(): Promise<void> {
    const all = [...this.children.values()];
    this.children.clear();
    await Promise.all(
      all.map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.exitCode !== null || c.signalCode !== null) return resolve();
            const t = setTimeout(() => c.kill('SIGKILL'), 3000);
            c.once('exit', () => {
              clearTimeout(t);
              resolve();
            });
            c.kill('SIGTERM');
          }),
      ),
    );
  }
}
