// OVSDB client against Debian's real ovsdb-server (no ovs-vswitchd) and against a scripted fake server.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  JsonValueSplitter, OpenVswitchView, OVS_DB, OVS_MONITOR_REQUESTS, OvsdbClient, OvsdbConnectionError, OvsdbProtocolError, OvsdbRpcError,
  OvsdbTransactError, checkOpenVswitchSchema, type Operation, type OvsdbMonitor,
} from '../../src/ovsdb/index.js';

const SCHEMA = '/usr/share/openvswitch/vswitch.ovsschema';

async function waitFor<T>(what: string, fn: () => T | undefined | false, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

class OvsdbServer {
  child: ChildProcess | undefined;
  tcpPort = 0;
  constructor(readonly dir: string) {}
  get sock() {
    return join(this.dir, 'db.sock');
  }
  async start(): Promise<void> {
    const log = join(this.dir, 'log');
    rmSync(log, { force: true });
    this.child = spawn('/usr/sbin/ovsdb-server', [
      join(this.dir, 'conf.db'), `--remote=punix:${this.sock}`, '--remote=ptcp:0:127.0.0.1',
      `--pidfile=${join(this.dir, 'pid')}`, `--unixctl=${join(this.dir, 'ctl')}`, `--log-file=${log}`,
    ], { stdio: 'ignore' });
    // ptcp:0 picks a free port; the log names it.
    this.tcpPort = await waitFor('ovsdb-server TCP port', () => {
      const m = existsSync(log) ? /listening on port (\d+)/.exec(readFileSync(log, 'utf8')) : null;
      return m && existsSync(this.sock) ? Number(m[1]) : undefined;
    });
  }
  async kill(): Promise<void> {
    const c = this.child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGKILL');
    await exited;
  }
  vsctl(...args: string[]): string {
    const r = spawnSync('ovs-vsctl', [`--db=unix:${this.sock}`, '--no-wait', '--timeout=5', ...args], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`ovs-vsctl ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  }
}

describe('OVSDB client against ovsdb-server', () => {
  let dir: string;
  let server: OvsdbServer;
  const clients: OvsdbClient[] = [];
  const newClient = (ep: string, opts = {}) => {
    const c = new OvsdbClient(ep, { reconnectInitialDelayMs: 50, reconnectMaxDelayMs: 500, ...opts });
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    // A missing prerequisite is a failure that says how to fix it, never a silent skip.
    for (const file of ['/usr/sbin/ovsdb-server', SCHEMA]) {
      if (!existsSync(file)) throw new Error(`${file} is missing: run "bash scripts/install-prereqs.sh" (installs Debian's openvswitch-switch)`);
    }
    dir = mkdtempSync(join(tmpdir(), `ironlb-ovsdb-${process.pid}-`));
    const r = spawnSync('ovsdb-tool', ['create', join(dir, 'conf.db'), SCHEMA], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`ovsdb-tool create: ${r.stderr}`);
    server = new OvsdbServer(dir);
    await server.start();
    server.vsctl('init');
    server.vsctl('set', 'Open_vSwitch', '.', 'external_ids:system-id=node-a', 'external_ids:ovn-bridge-mappings=provider:br-provider');
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await server?.kill();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('list_dbs and get_schema over unix and tcp', async () => {
    for (const ep of [`unix:${server.sock}`, `tcp:127.0.0.1:${server.tcpPort}`]) {
      const c = newClient(ep);
      expect(await c.listDbs()).toEqual(expect.arrayContaining(['Open_vSwitch', '_Server']));
      const schema = await c.getSchema(OVS_DB);
      expect(schema.tables.get('Port')?.columns.get('tag')?.type).toEqual({ key: { type: 'integer' }, min: 0, max: 1 });
      expect(() => checkOpenVswitchSchema(schema)).not.toThrow();
      expect(await c.echo(['x', 1])).toEqual(['x', 1]);
      await c.close();
    }
  });

  it('transact inserts Bridge+Port+Interface with named-uuids as ovs-vsctl does; ovs-vsctl show sees them', async () => {
    const c = newClient(`unix:${server.sock}`);
    const [root] = await c.select(OVS_DB, 'Open_vSwitch', [], ['_uuid']);
    const ops: Operation[] = [
      { op: 'comment', comment: 'ironlb e2e: add-br br-provider' },
      { op: 'insert', table: 'Interface', row: { name: 'br-provider', type: 'internal' }, 'uuid-name': 'iface' },
      { op: 'insert', table: 'Port', row: { name: 'br-provider', interfaces: ['named-uuid', 'iface'], external_ids: ['map', [['vendor', 'ironlb']]] }, 'uuid-name': 'port' },
      { op: 'insert', table: 'Bridge', row: { name: 'br-provider', ports: ['set', [['named-uuid', 'port']]], datapath_type: 'netdev' }, 'uuid-name': 'br' },
      { op: 'mutate', table: 'Open_vSwitch', where: [['_uuid', '==', ['uuid', root!._uuid as string]]], mutations: [['bridges', 'insert', ['set', [['named-uuid', 'br']]]]] },
      { op: 'wait', table: 'Bridge', where: [['name', '==', 'br-provider']], columns: ['name'], until: '==', rows: [{ name: 'br-provider' }], timeout: 0 },
    ];
    const res = await c.transact(OVS_DB, ops);
    expect(res[1]).toHaveProperty('uuid');
    expect(res[4]).toEqual({ count: 1 });
    const show = server.vsctl('show');
    expect(show).toMatch(/Bridge br-provider\s+datapath_type: netdev\s+Port br-provider\s+Interface br-provider\s+type: internal/);

    // A failing operation names its index and the server's error.
    // A second, referenced Bridge named br-provider breaks the unique "name" index at commit: the error
    // comes after the last operation (RFC 7047 §4.1.3).
    const bad: Operation[] = [
      { op: 'insert', table: 'Bridge', row: { name: 'br-provider' }, 'uuid-name': 'dup' },
      { op: 'mutate', table: 'Open_vSwitch', where: [], mutations: [['bridges', 'insert', ['named-uuid', 'dup']]] },
    ];
    const err = await c.transact(OVS_DB, bad).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OvsdbTransactError);
    expect((err as OvsdbTransactError).error).toBe('constraint violation');
    expect((err as OvsdbTransactError).operationIndex).toBe(2);
    expect((err as Error).message).toMatch(/transact on Open_vSwitch: .*constraint violation/);
    const bad2 = await c.transact(OVS_DB, [{ op: 'comment', comment: 'x' }, { op: 'select', table: 'NoSuchTable', where: [] }]).catch((e: unknown) => e);
    expect(bad2).toBeInstanceOf(OvsdbTransactError);
    expect((bad2 as OvsdbTransactError).operationIndex).toBe(1);
    expect((bad2 as Error).message).toMatch(/operation 1 \(select NoSuchTable\) failed/);
    // The connection is still usable.
    expect((await c.select(OVS_DB, 'Bridge', [['name', '==', 'br-provider']], ['name'])).map((r) => r.name)).toEqual(['br-provider']);
  });

  for (const [label, ep] of [['unix', () => `unix:${server.sock}`], ['tcp', () => `tcp:127.0.0.1:${server.tcpPort}`]] as const) {
    it(`monitor over ${label}: ovs-vsctl add-port tag=341 / set external_ids / del-port reach the replica`, async () => {
      const c = newClient(ep());
      const mon = await c.monitor(OVS_DB, OVS_MONITOR_REQUESTS);
      expect(mon.method).toBe('monitor_cond');
      const view = new OpenVswitchView(mon.replica);
      expect(view.root()?.systemId).toBe('node-a');
      expect(view.bridgeMappings().get('provider')).toBe('br-provider');
      expect(view.bridgeByName('br-provider')?.datapathType).toBe('netdev');

      const port = `vlan341-${label}`;
      server.vsctl('add-port', 'br-provider', port, 'tag=341', '--', 'set', 'Interface', port, 'type=internal');
      const placed = await waitFor('port in replica', () => view.placementOfPort(port));
      expect(placed.bridge.name).toBe('br-provider');
      expect(placed.tag).toBe(341);
      expect(placed.interfaces.map((i) => [i.name, i.type])).toEqual([[port, 'internal']]);

      server.vsctl('set', 'Interface', port, 'external_ids:owner=ironlb', 'external_ids:k2=v2');
      await waitFor('external_ids', () => view.interfaceByName(port)?.externalIds.get('k2') === 'v2');
      expect(Object.fromEntries(view.interfaceByName(port)!.externalIds)).toEqual({ owner: 'ironlb', k2: 'v2' });
      server.vsctl('remove', 'Interface', port, 'external_ids', 'k2');
      await waitFor('external_ids key removed', () => !view.interfaceByName(port)?.externalIds.has('k2'));
      server.vsctl('set', 'Port', port, 'trunks=0,341,342', 'tag=[]');
      await waitFor('trunks', () => view.portByName(port)?.trunks.join(',') === '0,341,342');
      expect(view.portByName(port)?.tag).toBeNull();

      server.vsctl('del-port', 'br-provider', port);
      await waitFor('port gone', () => view.portByName(port) === undefined && view.interfaceByName(port) === undefined);
      expect(view.bridgeByName('br-provider')?.ports.length).toBe(1);
      await mon.cancel();
      await c.close();
    });
  }

  it('plain monitor (RFC 7047 §4.1.5) also keeps the replica', async () => {
    const c = newClient(`unix:${server.sock}`);
    const mon = await c.monitor(OVS_DB, OVS_MONITOR_REQUESTS, { preferMonitorCond: false });
    expect(mon.method).toBe('monitor');
    const view = new OpenVswitchView(mon.replica);
    server.vsctl('add-port', 'br-provider', 'plain0', 'tag=7', '--', 'set', 'Interface', 'plain0', 'type=internal');
    expect((await waitFor('plain0', () => view.placementOfPort('plain0'))).tag).toBe(7);
    server.vsctl('del-port', 'plain0');
    await waitFor('plain0 gone', () => !view.portByName('plain0'));
    await c.close();
  });

  it('reconnects after ovsdb-server is killed and restarted, re-monitors and resyncs the replica', async () => {
    const c = newClient(`unix:${server.sock}`, { echoIntervalMs: 200, echoTimeoutMs: 500 });
    const mon: OvsdbMonitor = await c.monitor(OVS_DB, OVS_MONITOR_REQUESTS);
    const view = new OpenVswitchView(mon.replica);
    let resynced = 0;
    mon.on('resynced', () => resynced++);
    const disconnects: Error[] = [];
    c.on('disconnected', (e: Error) => disconnects.push(e));
    server.vsctl('add-port', 'br-provider', 'before0', 'tag=10');
    await waitFor('before0', () => view.portByName('before0'));

    await server.kill();
    await waitFor('disconnect seen', () => !c.isConnected);
    // Requests made while the server is down wait for it rather than failing.
    const pendingList = c.listDbs();
    // Change the database while the client cannot see it.
    spawnSync('ovsdb-tool', ['transact', join(dir, 'conf.db'), JSON.stringify([OVS_DB, { op: 'update', table: 'Port', where: [['name', '==', 'before0']], row: { tag: 11 } }])]);
    await server.start();
    server.vsctl('add-port', 'br-provider', 'after0', 'tag=20');
    await waitFor('resynced', () => resynced >= 1, 10_000);
    expect(await pendingList).toContain(OVS_DB);
    await waitFor('after0', () => view.portByName('after0'));
    expect(view.portByName('before0')?.tag).toBe(11);
    expect(disconnects.length).toBeGreaterThan(0);
    // The replica matches a fresh select.
    const rows = await c.select(OVS_DB, 'Port', [], ['name', 'tag']);
    expect(new Map(view.ports().map((p) => [p.name, p.tag]))).toEqual(new Map(rows.map((r) => [r.name as string, r.tag as number | null])));
    server.vsctl('del-port', 'before0');
    server.vsctl('del-port', 'after0');
    await c.close();
  });
});

// ------------------------------------------------------------------------------------------ fake server

type Behave = (msg: Record<string, any>, sock: Socket, connNo: number) => void;

describe('OVSDB client against a hostile fake server', () => {
  let dir: string;
  let srv: Server;
  let behave: Behave = () => {};
  let connNo = 0;
  const sockets = new Set<Socket>();
  const clients: OvsdbClient[] = [];
  const send = (s: Socket, v: unknown) => s.write(typeof v === 'string' ? v : JSON.stringify(v));

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), `ironlb-ovsdb-fake-${process.pid}-`));
    srv = createServer((sock) => {
      const n = ++connNo;
      sockets.add(sock);
      sock.on('close', () => sockets.delete(sock));
      sock.on('error', () => {});
      const sp = new JsonValueSplitter();
      sock.on('data', (d) => {
        for (const t of sp.push(d)) {
          const m = JSON.parse(t);
          if (m.method === 'echo' && m.id !== null && m.params?.[0] === 'ironlb-keepalive') send(sock, { id: m.id, result: m.params, error: null });
          else behave(m, sock, n);
        }
      });
    });
    await new Promise<void>((r) => srv.listen(join(dir, 'fake.sock'), r));
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    for (const s of sockets) s.destroy();
    await new Promise((r) => srv.close(r));
    rmSync(dir, { recursive: true, force: true });
  });
  const client = (opts = {}) => {
    const c = new OvsdbClient(`unix:${join(dir, 'fake.sock')}`, { reconnectInitialDelayMs: 20, reconnectMaxDelayMs: 100, requestTimeoutMs: 1_000, ...opts });
    clients.push(c);
    return c;
  };
  const goodListDbs: Behave = (m, s) => m.method === 'list_dbs' && send(s, { id: m.id, result: ['Fake'], error: null });

  it('garbage between messages: the pending request fails clearly, the client reconnects and works', async () => {
    const c = client();
    behave = (m, s) => send(s, `hello ${JSON.stringify({ id: m.id, result: [], error: null })}`);
    await expect(c.listDbs()).rejects.toThrow(/list_dbs: connection lost before the reply \(unreadable stream from the server: expected '\{'.*got 'h'/);
    behave = goodListDbs;
    expect(await c.listDbs()).toEqual(['Fake']);
  });

  it('a reply with a wrong id is reported and the request times out; the connection keeps working', async () => {
    const c = client({ requestTimeoutMs: 300 });
    const errs: Error[] = [];
    c.on('protocolError', (e: Error) => errs.push(e));
    behave = (m, s) => send(s, { id: 9999, result: ['x'], error: null });
    await expect(c.listDbs()).rejects.toThrow(/list_dbs: no reply within 300 ms/);
    expect(errs.map((e) => e.message)).toContainEqual(expect.stringMatching(/reply with id 9999 matches no outstanding request/));
    behave = goodListDbs;
    expect(await c.listDbs()).toEqual(['Fake']);
  });

  it('oversized, truncated and non-JSON replies fail clearly and the client recovers', async () => {
    const c = client({ maxMessageBytes: 4096 });
    behave = (m, s) => send(s, { id: m.id, result: ['x'.repeat(10_000)], error: null });
    await expect(c.listDbs()).rejects.toThrow(/exceeds the 4096-byte limit/);
    behave = (m, s) => s.end(`{"id":${m.id},"result":["trunc`);
    await expect(c.listDbs()).rejects.toThrow(/list_dbs: connection lost before the reply \(the server closed the connection mid-message/);
    behave = (m, s) => send(s, `{"id":${m.id},"result":[nope],"error":null}`);
    await expect(c.listDbs()).rejects.toThrow(/the server sent invalid JSON/);
    behave = goodListDbs;
    expect(await c.listDbs()).toEqual(['Fake']);
  });

  it('error objects, wrong result types and missing fields name the method', async () => {
    const c = client();
    behave = (m, s) => send(s, { id: m.id, result: null, error: { error: 'permission denied', details: 'nope' } });
    const e = await c.listDbs().catch((x: unknown) => x);
    expect(e).toBeInstanceOf(OvsdbRpcError);
    expect((e as Error).message).toBe('list_dbs: server error "permission denied" (nope)');
    behave = (m, s) => send(s, { id: m.id, result: 42, error: null });
    await expect(c.listDbs()).rejects.toThrow(/list_dbs: "result" must be an array of strings, got 42/);
    behave = (m, s) => send(s, { id: m.id, result: ['x'] });
    await expect(c.listDbs()).rejects.toThrow(OvsdbProtocolError);
    behave = (m, s) => send(s, { id: m.id, result: { rows: 'no' }, error: null });
    await expect(c.transact('Fake', [{ op: 'select', table: 'T', where: [] }])).rejects.toThrow(/transact on Fake: "result" must be an array/);
    behave = (m, s) => send(s, { id: m.id, result: [{ rows: [] }, null, { error: 'referential integrity violation', details: 'row x' }], error: null });
    const te = await c.transact('Fake', [{ op: 'select', table: 'T', where: [] }, { op: 'delete', table: 'T', where: [] }]).catch((x: unknown) => x);
    expect(te).toBeInstanceOf(OvsdbTransactError);
    expect((te as OvsdbTransactError).operationIndex).toBe(2);
    expect((te as Error).message).toBe('transact on Fake: the commit after 2 operations failed: "referential integrity violation" (row x)');
  });

  it('answers the server echo, falls back to monitor without monitor_cond, and rejects a malformed update', async () => {
    const schema = { name: 'Fake', version: '1.0.0', tables: { T: { columns: { name: { type: 'string' }, n: { type: { key: 'integer', min: 0, max: 1 } } } } } };
    const U = '11111111-2222-3333-4444-555555555555';
    let echoReply: unknown;
    let conn = 0;
    behave = (m, s, n) => {
      if (m.method === 'get_schema') send(s, { id: m.id, result: schema, error: null });
      else if (m.method === 'monitor_cond') send(s, { id: m.id, result: null, error: 'unknown method' });
      else if (m.method === 'monitor') {
        conn = n;
        send(s, { id: m.id, result: { T: { [U]: { new: { name: 'a', n: 1 } } } }, error: null });
        send(s, { method: 'echo', params: ['ping', 7], id: 'echo' });
      } else if (m.id === 'echo') echoReply = m;
    };
    const c = client();
    const errs: Error[] = [];
    c.on('protocolError', (e: Error) => errs.push(e));
    const mon = await c.monitor('Fake', { T: { columns: ['name', 'n'] } });
    expect(mon.method).toBe('monitor');
    expect(mon.replica.row('T', U)).toEqual({ _uuid: U, name: 'a', n: 1 });
    await waitFor('echo reply', () => echoReply);
    expect(echoReply).toEqual({ id: 'echo', result: ['ping', 7], error: null });
    const sock = [...sockets].at(-1)!;
    send(sock, { method: 'update', params: [mon.id, { T: { [U]: { new: { name: 'b', n: 2 } } } }], id: null });
    await waitFor('update', () => mon.replica.row('T', U)?.name === 'b');
    let resynced = false;
    mon.on('resynced', () => (resynced = true));
    // A wrongly typed column: the client drops the connection, reconnects and rebuilds from a fresh dump.
    send(sock, { method: 'update', params: [mon.id, { T: { [U]: { new: { name: 5 } } } }], id: null });
    await waitFor('resync', () => resynced);
    expect(conn).toBeGreaterThan(1);
    expect(mon.replica.row('T', U)?.name).toBe('a');
    expect(errs.length).toBe(0);
  });

  it('a server that stops answering our echo is treated as dead', async () => {
    const c = client({ echoIntervalMs: 100, echoTimeoutMs: 200 });
    behave = goodListDbs;
    await c.waitConnected();
    const why = new Promise<Error>((r) => c.once('disconnected', r));
    for (const s of sockets) s.removeAllListeners('data'); // the server goes silent
    expect((await why).message).toMatch(/did not answer our echo within 200 ms/);
    expect(await why).toBeInstanceOf(OvsdbConnectionError);
  });
});
