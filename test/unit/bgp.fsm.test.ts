import { describe, expect, it } from 'vitest';
import {
  BgpSession,
  decodeMessage,
  encodeMessage,
  endOfRib,
  OPEN_SENT_HOLD_MS,
  type BgpMessage,
  type Capability,
  type SessionAction,
  type SessionConfig,
} from '../../src/speaker/bgp/index.js';

const BASE: SessionConfig = {
  localAs: 64512,
  peerAs: 64513,
  routerId: '10.0.0.1',
  holdTime: 90,
  connectRetryTime: 120,
  passive: false,
  families: [
    { afi: 1, safi: 1 },
    { afi: 2, safi: 1 },
  ],
};

const peerCaps = (extra: Capability[] = []): Capability[] => [
  { kind: 'multiprotocol', afi: 1, safi: 1 },
  { kind: 'routeRefresh' },
  { kind: 'fourOctetAs', asn: 64513 },
  ...extra,
];
const peerOpen = (over: Partial<Extract<BgpMessage, { type: 'open' }>> = {}): Uint8Array =>
  encodeMessage({ type: 'open', version: 4, myAs: 64513, holdTime: 30, bgpId: '10.0.0.2', capabilities: peerCaps(), ...over });
const KEEPALIVE = encodeMessage({ type: 'keepalive' });

function sent(actions: SessionAction[], conn?: number): BgpMessage[] {
  return actions
    .filter((a): a is Extract<SessionAction, { type: 'Send' }> => a.type === 'Send' && (conn === undefined || a.conn === conn))
    .map((a) => {
      const r = decodeMessage(a.bytes);
      if (!r.ok) throw new Error('FSM sent an undecodable message');
      return r.message;
    });
}
const timers = (actions: SessionAction[]) =>
  actions.filter((a) => a.type === 'StartTimer').map((a) => (a.type === 'StartTimer' ? `${a.timer}=${a.ms}` : ''));
const of = <T extends SessionAction['type']>(actions: SessionAction[], t: T) =>
  actions.filter((a): a is Extract<SessionAction, { type: T }> => a.type === t);

/** Drives a session to Established on connection 1 (outbound). */
function established(config: Partial<SessionConfig> = {}, open: Partial<Extract<BgpMessage, { type: 'open' }>> = {}) {
  const s = new BgpSession({ ...BASE, ...config }, () => 5000);
  s.handle({ type: 'ManualStart' });
  s.handle({ type: 'TcpConnected', conn: 1, direction: 'outbound' });
  s.handle({ type: 'BytesReceived', conn: 1, bytes: peerOpen(open) });
  const a = s.handle({ type: 'BytesReceived', conn: 1, bytes: KEEPALIVE });
  return { s, a };
}

describe('RFC 4271 §8.2.2 transitions', () => {
  it('Idle -ManualStart-> Connect: dial and start ConnectRetry', () => {
    const s = new BgpSession(BASE);
    const a = s.handle({ type: 'ManualStart' });
    expect(s.state).toBe('Connect');
    expect(of(a, 'Connect')).toHaveLength(1);
    expect(timers(a)).toContain('connectRetry=120000');
    expect(of(a, 'StateChanged')).toEqual([{ type: 'StateChanged', from: 'Idle', to: 'Connect' }]);
  });

  it('passive: Idle -ManualStart-> Active without dialling', () => {
    const s = new BgpSession({ ...BASE, passive: true });
    const a = s.handle({ type: 'ManualStart' });
    expect(s.state).toBe('Active');
    expect(of(a, 'Connect')).toHaveLength(0);
    expect(s.handle({ type: 'TimerExpired', timer: 'connectRetry' })).toEqual([]);
    s.handle({ type: 'TcpConnected', conn: 7, direction: 'inbound' });
    expect(s.state).toBe('OpenSent');
  });

  it('Connect -TcpConnectionFails-> Active; Active -ConnectRetry expires-> Connect and dial again', () => {
    const s = new BgpSession(BASE);
    s.handle({ type: 'ManualStart' });
    const a = s.handle({ type: 'TcpConnectionFails', conn: 1 });
    expect(s.state).toBe('Active');
    expect(timers(a)).toEqual(['connectRetry=120000']);
    const b = s.handle({ type: 'TimerExpired', timer: 'connectRetry' });
    expect(s.state).toBe('Connect');
    expect(of(b, 'Connect')).toHaveLength(1);
  });

  it('Idle refuses connections', () => {
    const s = new BgpSession(BASE);
    expect(s.handle({ type: 'TcpConnected', conn: 1, direction: 'inbound' })).toEqual([{ type: 'Close', conn: 1 }]);
  });

  it('Connect -TcpConnected-> OpenSent: our OPEN, the 4-minute hold timer', () => {
    const s = new BgpSession(BASE);
    s.handle({ type: 'ManualStart' });
    const a = s.handle({ type: 'TcpConnected', conn: 1, direction: 'outbound' });
    expect(s.state).toBe('OpenSent');
    expect(of(a, 'StopTimer').map((t) => t.timer)).toContain('connectRetry');
    expect(timers(a)).toContain(`hold=${OPEN_SENT_HOLD_MS}`);
    const [open] = sent(a, 1);
    expect(open).toMatchObject({ type: 'open', version: 4, myAs: 64512, holdTime: 90, bgpId: '10.0.0.1' });
    expect(open?.type === 'open' && open.capabilities.map((c) => c.kind)).toEqual(['multiprotocol', 'multiprotocol', 'routeRefresh', 'fourOctetAs']);
  });

  it('OpenSent -OPEN-> OpenConfirm: KEEPALIVE, hold = min(90, 30), keepalive = hold/3', () => {
    const s = new BgpSession(BASE);
    s.handle({ type: 'ManualStart' });
    s.handle({ type: 'TcpConnected', conn: 1, direction: 'outbound' });
    const a = s.handle({ type: 'BytesReceived', conn: 1, bytes: peerOpen() });
    expect(s.state).toBe('OpenConfirm');
    expect(sent(a, 1)).toEqual([{ type: 'keepalive' }]);
    expect(timers(a)).toEqual(['hold=30000', 'keepalive=10000']);
  });

  it('OpenConfirm -KEEPALIVE-> Established with the negotiation result', () => {
    const { s, a } = established();
    expect(s.state).toBe('Established');
    const [e] = of(a, 'Established');
    expect(e?.negotiated).toMatchObject({ holdTime: 30, keepaliveTime: 10, fourOctetAs: true, routeRefresh: true, peerAs: 64513, peerBgpId: '10.0.0.2' });
    expect(e?.negotiated.families).toEqual([{ afi: 1, safi: 1 }]); // the peer did not offer IPv6
    expect(e?.codec).toEqual({ fourOctetAs: true, ibgp: false });
    expect(s.established?.sinceMs).toBe(5000);
  });

  it('a peer without any MP capability speaks IPv4 unicast only (RFC 4760 §8)', () => {
    const { a } = established({}, { capabilities: [{ kind: 'fourOctetAs', asn: 64513 }] });
    expect(of(a, 'Established')[0]?.negotiated.families).toEqual([{ afi: 1, safi: 1 }]);
  });

  it('hold time 0 negotiated: no keepalives, no hold timer', () => {
    const s = new BgpSession(BASE);
    s.handle({ type: 'ManualStart' });
    s.handle({ type: 'TcpConnected', conn: 1, direction: 'outbound' });
    const a = s.handle({ type: 'BytesReceived', conn: 1, bytes: peerOpen({ holdTime: 0 }) });
    expect(timers(a)).toEqual([]);
    expect(of(a, 'StopTimer').map((t) => t.timer)).toEqual(['hold', 'keepalive']);
  });

  it('messages split across reads byte by byte still drive the session', () => {
    const s = new BgpSession(BASE);
    s.handle({ type: 'ManualStart' });
    s.handle({ type: 'TcpConnected', conn: 1, direction: 'outbound' });
    for (const byte of [...peerOpen(), ...KEEPALIVE]) s.handle({ type: 'BytesReceived', conn: 1, bytes: Uint8Array.of(byte) });
    expect(s.state).toBe('Established');
  });

  it('Established: keepalive timer sends KEEPALIVE and restarts; any message restarts the hold timer', () => {
    const { s } = established();
    const a = s.handle({ type: 'TimerExpired', timer: 'keepalive' });
    expect(sent(a)).toEqual([{ type: 'keepalive' }]);
    expect(timers(a)).toEqual(['keepalive=10000']);
    expect(timers(s.handle({ type: 'BytesReceived', conn: 1, bytes: KEEPALIVE }))).toEqual(['hold=30000']);
  });

  it('hold timer expiry: NOTIFICATION Hold Timer Expired, close, Idle, automatic restart with back-off', () => {
    const { s } = established({ restartBackoffMs: { first: 0, max: 4000 } });
    const a = s.handle({ type: 'TimerExpired', timer: 'hold' });
    expect(sent(a)).toMatchObject([{ type: 'notification', code: 4, subcode: 0 }]);
    expect(of(a, 'Close')).toEqual([{ type: 'Close', conn: 1 }]);
    expect(of(a, 'Down')[0]).toMatchObject({ cause: { kind: 'notificationSent', code: 4 }, peerKeepsRoutes: false });
    expect(s.state).toBe('Idle');
    expect(timers(a)).toEqual(['idleHold=0']);
    const b = s.handle({ type: 'TimerExpired', timer: 'idleHold' });
    expect(s.state).toBe('Connect');
    expect(of(b, 'Connect')).toHaveLength(1);
    // Failing again doubles the back-off from 1 s up to the cap.
    const waits: string[] = [];
    for (let i = 0; i < 5; i++) {
      s.handle({ type: 'TcpConnected', conn: 10 + i, direction: 'outbound' });
      waits.push(...timers(s.handle({ type: 'TcpConnectionFails', conn: 10 + i })));
      s.handle({ type: 'TimerExpired', timer: 'idleHold' });
    }
    expect(waits).toEqual(['idleHold=1000', 'idleHold=2000', 'idleHold=4000', 'idleHold=4000', 'idleHold=4000']);
  });

  it('OpenSent: a peer AS other than configured => Bad Peer AS (RFC 4271 §6.2)', () => {
    const s = new BgpSession(BASE);
    s.handle({ type: 'ManualStart' });
    s.handle({ type: 'TcpConnected', conn: 1, direction: 'outbound' });
    const a = s.handle({ type: 'BytesReceived', conn: 1, bytes: peerOpen({ myAs: 64999, capabilities: [] }) });
    expect(sent(a)).toMatchObject([{ type: 'notification', code: 2, subcode: 2 }]);
    expect(s.state).toBe('Idle');
  });

  it('OpenSent: iBGP peer with our own BGP identifier => Bad BGP Identifier (RFC 6286 §2.2)', () => {
    const s = new BgpSession({ ...BASE, peerAs: 64512 });
    s.handle({ type: 'ManualStart' });
    s.handle({ type: 'TcpConnected', conn: 1, direction: 'outbound' });
    const a = s.handle({ type: 'BytesReceived', conn: 1, bytes: peerOpen({ myAs: 64512, bgpId: '10.0.0.1', capabilities: [] }) });
    expect(sent(a)).toMatchObject([{ type: 'notification', code: 2, subcode: 3 }]);
  });

  it('OpenSent: codec-level OPEN errors are answered (unsupported version)', () => {
    const s = new BgpSession(BASE);
    s.handle({ type: 'ManualStart' });
    s.handle({ type: 'TcpConnected', conn: 1, direction: 'outbound' });
    const bytes = peerOpen();
    bytes[19] = 3;
    expect(sent(s.handle({ type: 'BytesReceived', conn: 1, bytes }))).toMatchObject([{ type: 'notification', code: 2, subcode: 1 }]);
  });

  it('OpenSent: KEEPALIVE before OPEN => FSM Error / Unexpected in OpenSent (RFC 6608)', () => {
    const s = new BgpSession(BASE);
    s.handle({ type: 'ManualStart' });
    s.handle({ type: 'TcpConnected', conn: 1, direction: 'outbound' });
    expect(sent(s.handle({ type: 'BytesReceived', conn: 1, bytes: KEEPALIVE }))).toMatchObject([{ type: 'notification', code: 5, subcode: 1 }]);
  });

  it('OpenConfirm: a NOTIFICATION from the peer ends the session with its reason', () => {
    const s = new BgpSession(BASE);
    s.handle({ type: 'ManualStart' });
    s.handle({ type: 'TcpConnected', conn: 1, direction: 'outbound' });
    s.handle({ type: 'BytesReceived', conn: 1, bytes: peerOpen() });
    const a = s.handle({ type: 'BytesReceived', conn: 1, bytes: encodeMessage({ type: 'notification', code: 6, subcode: 2, data: new Uint8Array(0) }) });
    expect(of(a, 'Down')[0]).toMatchObject({ cause: { kind: 'notificationReceived', code: 6, subcode: 2 } });
    expect(of(a, 'Down')[0]?.reason).toContain('Administrative Shutdown');
    expect(sent(a)).toEqual([]);
    expect(s.state).toBe('Idle');
  });

  it('OpenConfirm: an UPDATE => FSM Error / Unexpected in OpenConfirm', () => {
    const s = new BgpSession(BASE);
    s.handle({ type: 'ManualStart' });
    s.handle({ type: 'TcpConnected', conn: 1, direction: 'outbound' });
    s.handle({ type: 'BytesReceived', conn: 1, bytes: peerOpen() });
    expect(sent(s.handle({ type: 'BytesReceived', conn: 1, bytes: encodeMessage(endOfRib(1, 1)) }))).toMatchObject([{ type: 'notification', code: 5, subcode: 2 }]);
  });

  it('Established: UPDATE, End-of-RIB, ROUTE-REFRESH are reported; OPEN is an FSM error', () => {
    const { s } = established();
    const upd = encodeMessage({ type: 'update', withdrawn: [], attributes: { origin: 0, asPath: [{ type: 2, asns: [64513] }], nextHop: '10.0.0.2' }, nlri: ['192.0.2.0/24'] });
    expect(of(s.handle({ type: 'BytesReceived', conn: 1, bytes: upd }), 'UpdateReceived')[0]).toMatchObject({ update: { nlri: ['192.0.2.0/24'] }, treatedAsWithdraw: false });
    expect(of(s.handle({ type: 'BytesReceived', conn: 1, bytes: encodeMessage(endOfRib(1, 1)) }), 'EndOfRibReceived')).toEqual([{ type: 'EndOfRibReceived', afi: 1, safi: 1 }]);
    expect(of(s.handle({ type: 'BytesReceived', conn: 1, bytes: encodeMessage({ type: 'routeRefresh', afi: 1, safi: 1 }) }), 'RouteRefreshRequested')).toHaveLength(1);
    expect(sent(s.handle({ type: 'BytesReceived', conn: 1, bytes: peerOpen() }))).toMatchObject([{ type: 'notification', code: 5, subcode: 3 }]);
    expect(s.state).toBe('Idle');
  });

  it('Established: treat-as-withdraw UPDATE keeps the session; a malformed one resets it with the right NOTIFICATION', () => {
    const { s } = established();
    const bad = encodeMessage({ type: 'update', withdrawn: [], attributes: { asPath: [], nextHop: '10.0.0.2' }, nlri: ['192.0.2.0/24'] });
    const a = s.handle({ type: 'BytesReceived', conn: 1, bytes: bad });
    expect(of(a, 'UpdateReceived')[0]).toMatchObject({ treatedAsWithdraw: true, update: { withdrawn: ['192.0.2.0/24'] } });
    expect(s.state).toBe('Established');
    const worse = encodeMessage(endOfRib(1, 1));
    worse[20] = 0xff; // withdrawn length overruns
    const b = s.handle({ type: 'BytesReceived', conn: 1, bytes: worse });
    expect(sent(b)).toMatchObject([{ type: 'notification', code: 3, subcode: 1 }]);
    expect(s.state).toBe('Idle');
  });

  it('Established: a header error (bad marker) => Connection Not Synchronized', () => {
    const { s } = established();
    const b = Uint8Array.from(KEEPALIVE);
    b[0] = 0;
    expect(sent(s.handle({ type: 'BytesReceived', conn: 1, bytes: b }))).toMatchObject([{ type: 'notification', code: 1, subcode: 1 }]);
  });

  it('TCP loss in Established => Down without NOTIFICATION; peerKeepsRoutes only with GR', () => {
    const plain = established();
    expect(of(plain.s.handle({ type: 'TcpConnectionFails', conn: 1 }), 'Down')[0]).toMatchObject({ cause: { kind: 'connectionLost' }, peerKeepsRoutes: false });
    const gr = { restartTime: 120, restarting: false, forwardingPreserved: true };
    const withGr = established({ gracefulRestart: gr }, { capabilities: peerCaps([{ kind: 'gracefulRestart', restarting: false, notification: false, restartTime: 90, families: [] }]) });
    expect(of(withGr.s.handle({ type: 'TcpConnectionFails', conn: 1 }), 'Down')[0]).toMatchObject({ peerKeepsRoutes: true });
  });

  it('ManualStop: Cease / Administrative Shutdown, Idle, no restart; graceful stop sends nothing', () => {
    const { s } = established();
    const a = s.handle({ type: 'ManualStop' });
    expect(sent(a)).toMatchObject([{ type: 'notification', code: 6, subcode: 2 }]);
    expect(timers(a)).toEqual([]);
    expect(s.state).toBe('Idle');
    const g = established();
    const b = g.s.handle({ type: 'ManualStop', graceful: true });
    expect(sent(b)).toEqual([]);
    expect(of(b, 'Close')).toHaveLength(1);
  });

  it('BfdDown => Cease / BFD Down (RFC 9384) and the session goes down', () => {
    const { s } = established();
    const a = s.handle({ type: 'BfdDown' });
    expect(sent(a)).toMatchObject([{ type: 'notification', code: 6, subcode: 10 }]);
    expect(s.state).toBe('Idle');
  });

  it('send() frames UPDATEs on the Established connection only', () => {
    const { s } = established();
    expect(s.send([encodeMessage(endOfRib(1, 1))])).toMatchObject([{ type: 'Send', conn: 1, what: 'update' }]);
    s.handle({ type: 'ManualStop' });
    expect(s.send([encodeMessage(endOfRib(1, 1))])).toEqual([]);
  });
});

describe('OPEN contents', () => {
  it('a 4-octet local AS goes out as AS_TRANS with the real AS in the capability (RFC 6793 §4.1)', () => {
    const s = new BgpSession({ ...BASE, localAs: 4200000000 });
    const o = s.localOpen();
    expect(o.myAs).toBe(23456);
    expect(o.capabilities).toContainEqual({ kind: 'fourOctetAs', asn: 4200000000 });
  });

  it('a peer with a 4-octet AS is matched by its capability, not the AS_TRANS field', () => {
    const { s } = established({ peerAs: 4200000001 }, { myAs: 23456, capabilities: [{ kind: 'fourOctetAs', asn: 4200000001 }] });
    expect(s.state).toBe('Established');
  });

  it('graceful restart: R bit after our restart, cleared once Established (RFC 4724 §3)', () => {
    const gr = { restartTime: 120, restarting: true, forwardingPreserved: true };
    const s = new BgpSession({ ...BASE, gracefulRestart: gr });
    expect(s.localOpen().capabilities.find((c) => c.kind === 'gracefulRestart')).toEqual({
      kind: 'gracefulRestart',
      restarting: true,
      notification: false,
      restartTime: 120,
      families: [
        { afi: 1, safi: 1, forwardingPreserved: true },
        { afi: 2, safi: 1, forwardingPreserved: true },
      ],
    });
    s.handle({ type: 'ManualStart' });
    s.handle({ type: 'TcpConnected', conn: 1, direction: 'outbound' });
    s.handle({ type: 'BytesReceived', conn: 1, bytes: peerOpen() });
    s.handle({ type: 'BytesReceived', conn: 1, bytes: KEEPALIVE });
    expect(s.localOpen().capabilities.find((c) => c.kind === 'gracefulRestart')).toMatchObject({ restarting: false });
  });
});

describe('connection collision (RFC 4271 §6.8)', () => {
  function race(routerId: string) {
    const s = new BgpSession({ ...BASE, routerId });
    s.handle({ type: 'ManualStart' });
    s.handle({ type: 'TcpConnected', conn: 1, direction: 'outbound' });
    const a2 = s.handle({ type: 'TcpConnected', conn: 2, direction: 'inbound' });
    expect(sent(a2, 2)[0]?.type).toBe('open');
    s.handle({ type: 'BytesReceived', conn: 1, bytes: peerOpen() });
    const a = s.handle({ type: 'BytesReceived', conn: 2, bytes: peerOpen() });
    return { s, a };
  }

  it('our identifier higher: the connection we opened survives, the peer-opened one gets Cease / Collision', () => {
    const { s, a } = race('10.0.0.9');
    expect(sent(a, 2)).toMatchObject([{ type: 'notification', code: 6, subcode: 7 }]);
    expect(of(a, 'Close')).toEqual([{ type: 'Close', conn: 2 }]);
    expect(s.state).toBe('OpenConfirm');
    s.handle({ type: 'BytesReceived', conn: 1, bytes: KEEPALIVE });
    expect(s.established?.conn).toBe(1);
  });

  it('our identifier lower: our connection is closed and the peer-opened one continues', () => {
    const { s, a } = race('10.0.0.1');
    expect(sent(a, 1)).toMatchObject([{ type: 'notification', code: 6, subcode: 7 }]);
    expect(sent(a, 2)).toEqual([{ type: 'keepalive' }]);
    s.handle({ type: 'BytesReceived', conn: 2, bytes: KEEPALIVE });
    expect(s.established?.conn).toBe(2);
  });

  it('a racing connection that fails before its OPEN leaves the other untouched', () => {
    const s = new BgpSession(BASE);
    s.handle({ type: 'ManualStart' });
    s.handle({ type: 'TcpConnected', conn: 1, direction: 'outbound' });
    s.handle({ type: 'TcpConnected', conn: 2, direction: 'inbound' });
    expect(s.handle({ type: 'TcpConnectionFails', conn: 2 })).toEqual([]);
    expect(s.state).toBe('OpenSent');
  });

  it('a new OPEN while Established: closed with Cease / Collision, unless the peer is GR-capable (it restarted)', () => {
    const { s } = established();
    s.handle({ type: 'TcpConnected', conn: 2, direction: 'inbound' });
    const a = s.handle({ type: 'BytesReceived', conn: 2, bytes: peerOpen() });
    expect(sent(a, 2)).toMatchObject([{ type: 'notification', code: 6, subcode: 7 }]);
    expect(s.established?.conn).toBe(1);

    const grCaps = peerCaps([{ kind: 'gracefulRestart', restarting: true, notification: false, restartTime: 90, families: [] }]);
    const g = established({ gracefulRestart: { restartTime: 120, restarting: false, forwardingPreserved: true } }, { capabilities: grCaps });
    g.s.handle({ type: 'TcpConnected', conn: 2, direction: 'inbound' });
    const b = g.s.handle({ type: 'BytesReceived', conn: 2, bytes: peerOpen({ capabilities: grCaps }) });
    expect(of(b, 'Down')[0]).toMatchObject({ peerKeepsRoutes: true });
    expect(of(b, 'Close')).toEqual([{ type: 'Close', conn: 1 }]);
    expect(g.s.state).toBe('OpenConfirm');
    g.s.handle({ type: 'BytesReceived', conn: 2, bytes: KEEPALIVE });
    expect(g.s.established?.conn).toBe(2);
  });
});
