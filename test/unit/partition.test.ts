// The partition guard: a speaker that hears no other speaker while two or more of them are Ready
// in the API server is the cut-off side and stops announcing.
import { describe, expect, it } from 'vitest';
import { isolatedFromPeers } from '../../src/speaker/partition.js';
import type { MemberState } from '../../src/speaker/membership/codec.js';

const view = (peers: Record<string, MemberState>, ready: string[]) => ({ self: 'n1', peers: new Map(Object.entries(peers)), readyNodes: new Set(ready) });

describe('isolatedFromPeers', () => {
  it('every peer suspect or dead while the API server says they are Ready: cut off', () => {
    expect(isolatedFromPeers(view({ n1: 'alive', n2: 'suspect', n3: 'dead' }, ['n1', 'n2', 'n3']))).toBe(true);
  });

  it('one peer still heard: not cut off (the ordinary failover of one node)', () => {
    expect(isolatedFromPeers(view({ n1: 'alive', n2: 'dead', n3: 'alive' }, ['n1', 'n2', 'n3']))).toBe(false);
  });

  it('peers that are dead AND NotReady really died: the survivor serves (after kubelet marks them)', () => {
    expect(isolatedFromPeers(view({ n1: 'alive', n2: 'dead', n3: 'dead' }, ['n1']))).toBe(false);
    expect(isolatedFromPeers(view({ n1: 'alive', n2: 'dead', n3: 'dead' }, ['n1', 'n2']))).toBe(false);
  });

  it('a two-node cluster cannot tell a partition from a death: MetalLB behaviour', () => {
    expect(isolatedFromPeers(view({ n1: 'alive', n2: 'dead' }, ['n1', 'n2']))).toBe(false);
  });

  it('graceful leavers and a fresh speaker that has heard of nobody do not count', () => {
    expect(isolatedFromPeers(view({ n1: 'alive', n2: 'left', n3: 'left' }, ['n1', 'n2', 'n3']))).toBe(false);
    expect(isolatedFromPeers(view({ n1: 'alive' }, ['n1', 'n2', 'n3']))).toBe(false);
  });
});
