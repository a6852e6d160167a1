// Runs API writes concurrently (the API round trip is the bottleneck: the controller's Service
// status writes, the speakers' ServiceL2Status/ServiceBGPStatus objects) while keeping the order that matters:
// - writes for one Service run in submission order;
// - a write that takes an IP away from a Service is a barrier: it waits for every earlier write
//   and every later write waits for it, so a freed IP never shows on two Services at once.
export class OrderedWriter {
  private active = 0;
  private readonly queue: (() => void)[] = [];
  private barrier: Promise<void> = Promise.resolve();
  private readonly lastOfKey = new Map<string, Promise<void>>();
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly concurrency: number) {}

  submit(key: string, write: () => Promise<void>, releasesIp: boolean): Promise<void> {
    const before = releasesIp ? [this.barrier, ...this.inFlight] : [this.barrier, this.lastOfKey.get(key) ?? Promise.resolve()];
    const run = Promise.all(before).then(() => this.withSlot(write));
    const done = run.catch(() => undefined);
    if (releasesIp) this.barrier = done;
    this.lastOfKey.set(key, done);
    this.inFlight.add(done);
    void done.then(() => {
      this.inFlight.delete(done);
      if (this.lastOfKey.get(key) === done) this.lastOfKey.delete(key);
    });
    return run;
  }

  /** Resolves when every write submitted so far has finished. */
  async drained(): Promise<void> {
    while (this.inFlight.size) await Promise.all([...this.inFlight]);
  }

  get pending(): number {
    return this.inFlight.size;
  }

  private async withSlot(write: () => Promise<void>): Promise<void> {
    if (this.active >= this.concurrency) await new Promise<void>((r) => this.queue.push(r));
    this.active++;
    try {
      await write();
    } finally {
      this.active--;
      this.queue.shift()?.();
    }
  }
}
