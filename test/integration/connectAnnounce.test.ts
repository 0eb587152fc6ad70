/**
 * A traced client's socket is announced (its open record, with addresses
 * and role) when it becomes ESTABLISHED, before it can send: so its peer
 * on this host, reading what it sends, already knows the client end is
 * traced and names the exchange (a server read can overtake the client's
 * send record, as curl -> nginx showed). Seen in a recording: a client that
 * connects and sends nothing is announced all the same, for its own pid.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeEndpoints } from '../../collector/conn/endpoints.js';
import { decodeEvent, EventType, Role, type ConnOpenEvent } from '../../collector/ebpf/abi.js';
import { ItemKind, readRecording } from '../../collector/record/recording.js';
import { startNodeServer, type Peer } from '../helpers/peers.js';
import { freePort } from '../helpers/ports.js';
import { configFile, ROOT, SondeProcess } from '../helpers/sonde.js';
import { spawnTied } from '../helpers/tied.js';

let server: Peer;

beforeAll(async () => {
  server = await startNodeServer(await freePort());
});

afterAll(async () => {
  await server?.stop();
});

/** A Python client that connects, says nothing, and prints its local port before closing. */
function silentClient(port: number): Promise<{ pid: number; localPort: number }> {
  const code = `import socket,time\ns=socket.create_connection(("127.0.0.1",${port}))\ntime.sleep(0.3)\nprint(s.getsockname()[1],flush=True)\ns.close()`;
  const child = spawn('python3', ['-c', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve, reject) => child.on('exit', (c) => (c === 0 ? resolve({ pid: child.pid!, localPort: Number(out.trim()) }) : reject(new Error(`client exited ${c}`)))));
}

describe('a traced client socket', () => {
  it('is announced once connected, before it sends anything, for the process that connected it', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'sonde-rec-')), 'connect.sonde');
    const sonde = new SondeProcess(
      spawnTied(
        join(ROOT, 'sonde'),
        ['record', file, '--print', 'disabled', '--config', configFile(`discovery:\n  instrument:\n    - open_ports: "${server.port}"\n    - exe_path: "*/python3*"\n`)],
        { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
        'SIGTERM',
      ),
    );
    let client: { pid: number; localPort: number };
    try {
      await sonde.ready();
      client = await silentClient(server.port);
    } finally {
      expect(await sonde.stop()).toBe(0);
    }
    const items = readRecording(file);
    if (items instanceof Error) throw items;
    const opens: ConnOpenEvent[] = [];
    for (const it of items) {
      if (it.kind !== ItemKind.Record) continue;
      const view = new DataView(it.bytes.buffer, it.bytes.byteOffset, it.bytes.byteLength);
      const ev = decodeEvent(view, it.bytes, 0, it.bytes.length);
      if (ev.type === EventType.ConnOpen) opens.push(ev);
    }
    const mine = opens.filter((o) => decodeEndpoints(o.tuple).local.port === client.localPort);
    expect(mine.map((o) => ({ pid: o.pid, role: o.role, remote: decodeEndpoints(o.tuple).remote.port }))).toEqual([
      { pid: client.pid, role: Role.Client, remote: server.port },
    ]);
  });
});
