/** The README's configuration reference is the schema's, and its example configuration is valid. */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatIssues, loadConfig } from '../../config/load.js';
import { configReference, withReference } from '../../config/reference.js';
import { ROOT } from '../../collector/version.js';

const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');

describe('configuration reference', () => {
  it('README.md has the reference the schema gives (npm run docs:config writes it)', () => {
    expect(withReference(readme, configReference())).toBe(readme);
  });

  it('lists every key with its variable and flag', () => {
    const ref = configReference();
    expect(ref).toContain('| `otel_traces_export.sampler.name` |');
    expect(ref).toMatch(/\| `prometheus_export\.port` \| integer 0–65535 \|  \| `OTEL_EBPF_PROMETHEUS_PORT` \| `--prometheus-port` \|/);
    expect(ref).toMatch(/\| `discovery\.instrument\[\]\.exe_path` \| string \|  \| `OTEL_EBPF_AUTO_TARGET_EXE` \| `--exe` \|/);
  });

  it('the README\'s example configuration loads', () => {
    const section = readme.slice(readme.indexOf('### Configuration'));
    const yaml = /```yaml\n([\s\S]*?)```/.exec(section)![1]!;
    const file = join(mkdtempSync(join(tmpdir(), 'sonde-readme-')), 'sonde.yaml');
    writeFileSync(file, yaml);
    const r = loadConfig({}, { config: file });
    if (Array.isArray(r)) throw new Error(formatIssues(r));
    expect(r.config.discovery.instrument).toHaveLength(4);
  });
});
