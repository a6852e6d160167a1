// Worker-thread entry of the gossip membership (see gossipThread.ts for why it has a thread of
// its own). Runs GossipMembership here and mirrors its view to the parent after every change.
import { parentPort, workerData } from 'node:worker_threads';
import { GossipMembership, type GossipMembershipOptions } from './gossipMembership.js';
import type { ThreadReply, ThreadRequest } from './gossipThread.js';

const port = parentPort;
if (!port) throw new Error('gossipWorker.js is a worker_threads entry point; start it through GossipThread');

const post = (m: ThreadReply): void => port.postMessage(m);

let gossip: GossipMembership;
try {
  gossip = await GossipMembership.start({
    ...(workerData as GossipMembershipOptions),
    onError: (err) => post({ t: 'error', message: err.message }),
  });
} catch (err) {
  post({ t: 'startFailed', message: (err as Error).message });
  process.exit(0);
}

const snapshot = () => ({ alive: [...gossip.aliveNodes()], stale: gossip.isViewStale() });
gossip.onChange((event) => post({ t: 'change', event, ...snapshot() }));
post({ t: 'started', ...snapshot() });

port.on('message', (m: ThreadRequest) => {
  switch (m.t) {
    case 'seeds':
      try {
        gossip.setSeeds(m.seeds);
      } catch (err) {
        post({ t: 'error', message: (err as Error).message });
      }
      break;
    case 'stats':
      post({ t: 'stats', id: m.id, stats: gossip.stats, members: gossip.members() });
      break;
    case 'leave':
      void gossip.leave(m.timeoutMs).then(() => post({ t: 'left' }));
      break;
    case 'close':
      gossip.close();
      port.close();
      break;
  }
});
