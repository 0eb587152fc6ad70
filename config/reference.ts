/**
 * The configuration reference, generated from the schema itself (its JSON
 * Schema: types, limits, defaults, descriptions) and the environment and
 * flag bindings, so the README cannot drift from what Sonde accepts.
 * `sonde config --reference` prints it; scripts/config-reference.mjs puts
 * it in the README, and a test checks the README has the current one.
 */
import { z } from 'zod';
import { ENV_BINDINGS, ENV_SELECTOR, FLAG_BINDINGS, FLAG_SELECTOR } from './load.js';
import { configSchema } from './schema.js';

interface JsonSchema {
  type?: string;
  description?: string;
  default?: unknown;
  enum?: unknown[];
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  additionalProperties?: JsonSchema | boolean;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  format?: string;
}

/** Key path ("ebpf.capture_size", "discovery.instrument[].exe_path") -> names bound to it. */
function bound(bindings: Readonly<Record<string, { path: readonly string[]; also?: ReadonlyArray<readonly string[]> }>>, prefix = ''): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const [name, b] of Object.entries(bindings)) {
    for (const path of [b.path, ...(b.also ?? [])]) {
      const key = prefix + path.join('.');
      out.set(key, [...(out.get(key) ?? []), name]);
    }
  }
  return out;
}

const code = (s: string): string => `\`${s}\``;

function typeOf(s: JsonSchema): string {
  if (s.enum) return s.enum.map((v) => code(String(v))).join(', ');
  if (s.type === 'array') return `list of ${s.items ? typeOf(s.items).replace(/^an? /, '') : 'values'}`;
  if (s.type === 'object') return 'map of strings';
  if (s.format === 'uri') return 'URL';
  if (s.type === 'integer' || s.type === 'number') {
    const lo = s.minimum ?? (s.exclusiveMinimum !== undefined ? s.exclusiveMinimum + (s.type === 'integer' ? 1 : 0) : undefined);
    const hi = s.maximum !== undefined && s.maximum < Number.MAX_SAFE_INTEGER ? s.maximum : undefined;
    const range = lo !== undefined && hi !== undefined ? ` ${lo}–${hi}` : lo !== undefined ? ` ≥ ${lo}` : hi !== undefined ? ` ≤ ${hi}` : '';
    return `${s.type}${range}`;
  }
  return s.type ?? 'any';
}

function defaultOf(s: JsonSchema): string {
  if (s.default === undefined) return '';
  const text = JSON.stringify(s.default);
  if (Array.isArray(s.default) && text.length > 80) return `${s.default.length} entries (see \`sonde config\`)`;
  return code(text.replace(/^"(.*)"$/, '$1'));
}

interface Row {
  readonly key: string;
  readonly schema: JsonSchema;
}

function rows(s: JsonSchema, path: string, out: Row[]): Row[] {
  const isRecord = s.type === 'object' && !s.properties;
  if (s.type === 'object' && s.properties && !isRecord) {
    for (const [k, v] of Object.entries(s.properties)) rows(v, path ? `${path}.${k}` : k, out);
  } else if (s.type === 'array' && s.items?.type === 'object' && s.items.properties) {
    out.push({ key: path, schema: s });
    // Exclude lists take the same criteria as discovery.instrument[]: listed once, there.
    if (!path.includes('exclude')) rows(s.items, `${path}[]`, out);
  } else {
    out.push({ key: path, schema: s });
  }
  return out;
}

export function configReference(): string {
  const schema = z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  const env = new Map([...bound(ENV_BINDINGS), ...bound(ENV_SELECTOR, 'discovery.instrument[].')]);
  const flags = new Map([...bound(FLAG_BINDINGS), ...bound(FLAG_SELECTOR, 'discovery.instrument[].')]);
  const lines = ['| key | type | default | environment | flag | what it does |', '|---|---|---|---|---|---|'];
  for (const { key, schema: s } of rows(schema, '', [])) {
    const isList = s.type === 'array' && s.items?.type === 'object';
    lines.push(
      `| ${code(key)} | ${isList ? 'list of selectors' : typeOf(s)} | ${defaultOf(s)} | ${(env.get(key) ?? []).map(code).join(', ')} | ${(flags.get(key) ?? []).map((f) => code(`--${f}`)).join(', ')} | ${s.description ?? ''} |`,
    );
  }
  return `${lines.join('\n')}\n`;
}

export const REFERENCE_START = '<!-- config-reference: generated from config/schema.ts by `npm run docs:config`; do not edit by hand -->';
export const REFERENCE_END = '<!-- /config-reference -->';

/** A README with its reference section replaced by `reference`. */
export function withReference(readme: string, reference: string): string {
  const start = readme.indexOf(REFERENCE_START);
  const end = readme.indexOf(REFERENCE_END);
  if (start < 0 || end < start) throw new Error(`README.md has no ${REFERENCE_START} ... ${REFERENCE_END} section`);
  return `${readme.slice(0, start + REFERENCE_START.length)}\n\n${reference}\n${readme.slice(end)}`;
}
