/**
 * The deployment files, checked with what runs here (no Docker engine, no
 * cluster): the Kubernetes manifests against the Kubernetes API schemas
 * (kubernetes-models), the compose file by docker-compose's own parser, and
 * both against what Sonde itself needs (capabilities.ts) and accepts (its
 * configuration schema).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { DaemonSet } from 'kubernetes-models/apps/v1/DaemonSet';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { capabilityReport } from '../../collector/ebpf/capabilities.js';
import { formatIssues, loadConfig } from '../../config/load.js';
import { ROOT } from '../../collector/version.js';

/** What Sonde needs in a container: the capabilities it checks for at start, and the host paths it reads. */
const CAPS = ['BPF', 'PERFMON', 'SYS_PTRACE', 'DAC_READ_SEARCH'];
const HOST_PATHS = ['/sys/kernel/btf', '/sys/kernel/tracing', '/sys/fs/bpf', '/sys/fs/cgroup'];

type Obj = Record<string, unknown>;
const docs = parseAllDocuments(readFileSync(join(ROOT, 'deploy/kubernetes/sonde.yaml'), 'utf8')).map((d) => d.toJS() as Obj);
const byKind = (kind: string): Obj => docs.find((d) => d.kind === kind)!;

describe('Kubernetes manifests', () => {
  it('validate against the Kubernetes API schemas', () => {
    const models: Record<string, new (o: never) => { validate(): void }> = { Namespace, ServiceAccount, ConfigMap, DaemonSet } as never;
    expect(docs.map((d) => d.kind)).toEqual(['Namespace', 'ServiceAccount', 'ConfigMap', 'DaemonSet']);
    for (const d of docs) expect(() => new models[d.kind as string]!(d as never).validate(), String(d.kind)).not.toThrow();
  });

  it('the DaemonSet has exactly the privileges Sonde checks for, host PID, and the host paths it reads', () => {
    const spec = (byKind('DaemonSet').spec as { template: { spec: Obj } }).template.spec;
    expect(spec.hostPID).toBe(true);
    expect(spec.hostNetwork).toBeUndefined();
    const [c] = spec.containers as Array<{ securityContext: { privileged: boolean; capabilities: { drop: string[]; add: string[] } }; volumeMounts: Array<{ mountPath: string }> }>;
    expect(c!.securityContext.privileged).toBe(false);
    expect(c!.securityContext.capabilities.drop).toEqual(['ALL']);
    expect(c!.securityContext.capabilities.add.sort()).toEqual([...CAPS].sort());
    expect(c!.volumeMounts.map((m) => m.mountPath).filter((p) => p.startsWith('/sys'))).toEqual(HOST_PATHS);
    // Those capabilities are enough for Sonde's own start-up check.
    const mask = CAPS.reduce((m, c) => m | (1n << BigInt({ BPF: 39, PERFMON: 38, SYS_PTRACE: 19, DAC_READ_SEARCH: 2 }[c]!)), 0n);
    expect(capabilityReport(mask).missing).toEqual([]);
  });

  it('the ConfigMap\'s configuration is one Sonde accepts', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'sonde-k8s-')), 'sonde.yaml');
    writeFileSync(file, (byKind('ConfigMap').data as Record<string, string>)['sonde.yaml']!);
    const r = loadConfig((byKind('ConfigMap').data as Record<string, string>) as NodeJS.ProcessEnv, { config: file });
    if (Array.isArray(r)) throw new Error(formatIssues(r));
    expect(r.config.discovery.instrument).toEqual([{ containers_only: true }]);
    expect(r.config.prometheus_export.port).toBe(9400);
  });
});

describe('docker-compose.yml', () => {
  const compose = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8')) as { services: Record<string, Obj> };

  it('parses with docker-compose config', () => {
    expect(existsSync('/usr/bin/docker-compose'), 'docker-compose (Debian package) is installed by scripts/setup.sh --test').toBe(true);
    const out = execFileSync('docker-compose', ['-f', join(ROOT, 'docker-compose.yml'), 'config', '--services'], { encoding: 'utf8' });
    expect(out.trim().split('\n').sort()).toEqual(['frontend', 'inventory', 'jaeger', 'loadgen', 'pricing', 'sonde']);
  });

  it('runs Sonde with host PID, the same capabilities and host paths, exporting to the Jaeger beside it', () => {
    const sonde = compose.services.sonde!;
    expect(sonde.pid).toBe('host');
    expect((sonde.cap_add as string[]).sort()).toEqual([...CAPS].sort());
    expect((sonde.volumes as string[]).map((v) => v.split(':')[1]).filter((p) => p!.startsWith('/sys'))).toEqual(HOST_PATHS);
    expect((sonde.environment as Obj).OTEL_EXPORTER_OTLP_TRACES_ENDPOINT).toBe('http://jaeger:4318/v1/traces');
    expect(compose.services.jaeger!.image).toMatch(/^jaegertracing\/jaeger:2\./);
  });
});
