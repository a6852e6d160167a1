// Creates under load: a 429 or a timeout from a saturated lab API server is retried with a
// growing pause, as kubectl would; the caller counts the retries.
import { sleep } from '../src/lab/processes.js';

export async function withRetries(call: () => Promise<unknown>, onRetry: () => void, retries = 5): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await call();
      return;
    } catch (e) {
      onRetry();
      if (attempt >= retries) throw e;
      await sleep(200 * (attempt + 1));
    }
  }
}
