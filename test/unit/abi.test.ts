/**
 * The TypeScript decoder and the C header agree (ARCHITECTURE decision 4):
 * every struct of bpf/sonde.h is compiled for the BPF target and its BTF
 * sizes and member offsets compared with collector/ebpf/abi.ts; the built
 * objects keep their settings at offset 0 of .rodata, where userspace writes;
 * exec records keep only the OpenTelemetry variables of an environment.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeEvent, EventType, Layout, redactExecRecord, Verdict, type ProcEvent } from '../../collector/ebpf/abi.js';

const ROOT = join(import.meta.dirname, '../..');

interface BtfMember { name: string; bits_offset: number }
interface BtfType { id: number; kind: string; name?: string; size?: number; members?: BtfMember[]; vars?: Array<{ type_id: number; offset: number }> }

function btfOf(object: string): BtfType[] {
  return (JSON.parse(execFileSync('bpftool', ['btf', 'dump', 'file', object, '-j'], { encoding: 'utf8' })) as { types: BtfType[] }).types;
}

function compileHeader(): BtfType[] {
  const dir = mkdtempSync(join(tmpdir(), 'sonde-abi-'));
  const src = join(dir, 'abi.c');
  writeFileSync(
    src,
    `typedef unsigned char __u8; typedef unsigned short __u16; typedef unsigned int __u32;
typedef int __s32; typedef unsigned long long __u64;
#include "sonde.h"
struct all { struct sonde_data_event d; struct sonde_conn_event c; struct sonde_state_event s;
  struct sonde_proc_event p; struct sonde_exec_event e; struct sonde_config g; struct sonde_conn_info i;
  struct sonde_counters k; struct sonde_tls_bind_event b; struct sonde_inject_event j; struct sonde_node_async_event n; } all;\n`,
  );
  const obj = join(dir, 'abi.o');
  execFileSync('clang', ['-g', '-O2', '-target', 'bpf', '-I', join(ROOT, 'bpf'), '-c', src, '-o', obj]);
  return btfOf(obj);
}

function layoutOf(types: BtfType[], name: string): { size: number; offsets: Record<string, number> } {
  const t = types.find((x) => x.kind === 'STRUCT' && x.name === name);
  if (!t) throw new Error(`struct ${name} not in BTF`);
  return { size: t.size!, offsets: Object.fromEntries(t.members!.map((m) => [m.name, m.bits_offset / 8])) };
}

describe('event ABI', () => {
  const types = compileHeader();
  const cases: Array<[string, Record<string, number>]> = [
    ['sonde_event_header', Layout.header],
    ['sonde_tuple', Layout.tuple],
    ['sonde_data_event', Layout.data],
    ['sonde_conn_event', Layout.conn],
    ['sonde_state_event', Layout.state],
    ['sonde_proc_event', Layout.proc],
    ['sonde_exec_event', Layout.exec],
    ['sonde_config', Layout.config],
    ['sonde_conn_info', Layout.connInfo],
    ['sonde_counters', Layout.counters],
    ['sonde_tls_bind_event', Layout.tlsBind],
    ['sonde_inject_event', Layout.inject],
    ['sonde_node_async_event', Layout.nodeAsync],
  ];
  it.each(cases)('%s matches abi.ts', (name, expected) => {
    const actual = layoutOf(types, name);
    for (const [field, offset] of Object.entries(expected)) {
      if (field === 'size') expect(actual.size, `${name} size`).toBe(offset);
      else expect(actual.offsets[field], `${name}.${field}`).toBe(offset);
    }
  });

  it.each(['socket', 'syscalls', 'kprobe', 'fentry', 'inject'])('sonde-%s.bpf.o keeps sonde_cfg at .rodata offset 0', (mode) => {
    const objTypes = btfOf(join(ROOT, 'dist/bpf', `sonde-${mode}.bpf.o`));
    const rodata = objTypes.find((t) => t.kind === 'DATASEC' && t.name === '.rodata');
    const cfgVar = objTypes.find((t) => t.kind === 'VAR' && t.name === 'sonde_cfg');
    expect(cfgVar).toBeDefined();
    expect(rodata?.size).toBe(Layout.config.size);
    expect(rodata?.vars?.find((v) => v.type_id === cfgVar!.id)?.offset).toBe(0);
  });
});

describe('exec records', () => {
  function execRecord(filename: string, env: string): Uint8Array {
    const name = Buffer.from(filename);
    const envBytes = Buffer.from(env);
    const rec = new Uint8Array(Layout.exec.env + envBytes.length);
    const v = new DataView(rec.buffer);
    rec[Layout.header.type] = EventType.ProcExec;
    v.setUint32(Layout.header.pid, 4242, true);
    v.setUint32(Layout.proc.ppid, 1, true);
    rec[Layout.proc.verdict] = Verdict.Pending;
    rec.set(Buffer.from('tool\0'), Layout.proc.comm);
    v.setUint16(Layout.exec.filename_len, name.length, true);
    v.setUint32(Layout.exec.env_len, envBytes.length, true);
    rec.set(name, Layout.exec.filename);
    rec.set(envBytes, Layout.exec.env);
    return rec;
  }
  const decode = (rec: Uint8Array) => decodeEvent(new DataView(rec.buffer, rec.byteOffset, rec.byteLength), rec, 0, rec.length);
  const ENV = 'PATH=/bin\0AWS_SECRET_ACCESS_KEY=hunter2\0OTEL_SERVICE_NAME=billing\0OTEL_RESOURCE_ATTRIBUTES=team=pay\0OTEL_SERVICE_NAME=second\0';

  it('carry the file name and the OpenTelemetry variables, and nothing else of the environment', () => {
    const ev = decode(execRecord('/usr/local/bin/tool', ENV));
    expect(ev).toMatchObject({ type: EventType.ProcExec, pid: 4242, comm: 'tool' });
    expect((ev as ProcEvent).exec).toEqual({ filename: '/usr/local/bin/tool', otelServiceName: 'billing', otelResourceAttributes: 'team=pay' });
    expect(JSON.stringify(ev)).not.toContain('hunter2');
  });

  it('are recorded with their environment cut to the OTEL_ variables', () => {
    const rec = execRecord('/usr/local/bin/tool', ENV);
    const kept = redactExecRecord(rec);
    expect(Buffer.from(kept).toString('latin1')).not.toContain('hunter2');
    expect(Buffer.from(kept).toString('latin1')).not.toContain('PATH=');
    expect(decode(kept)).toEqual(decode(rec));
    const other = new Uint8Array(Layout.state.size);
    other[Layout.header.type] = EventType.ConnState;
    expect(redactExecRecord(other)).toBe(other);
  });

  it('that claim more than they hold are invalid; a bare process record still decodes', () => {
    const rec = execRecord('/bin/x', 'OTEL_SERVICE_NAME=a\0');
    expect(decode(rec.subarray(0, rec.length - 1))).toMatchObject({ type: 'invalid' });
    const bare = rec.slice(0, Layout.proc.size);
    expect(decode(bare)).toMatchObject({ type: EventType.ProcExec, comm: 'tool' });
    expect((decode(bare) as ProcEvent).exec).toBeUndefined();
  });
});
