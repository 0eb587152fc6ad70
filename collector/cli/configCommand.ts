/**
 * `sonde config`: the configuration `sonde run` would use, as YAML (every
 * key, defaults included), each value followed by where it came from:
 * the file, an environment variable, a flag, or the default.
 */
import { Document, isMap, isScalar, isSeq, type Node } from 'yaml';
import type { LoadedConfig } from '../../config/load.js';

/** The source of the value at `path`: its own, else the nearest enclosing key's (an array given whole). */
function sourceOf(sources: ReadonlyMap<string, string>, path: readonly (string | number)[]): string {
  for (let i = path.length; i > 0; i--) {
    const s = sources.get(path.slice(0, i).join('.'));
    if (s !== undefined) return s;
  }
  return 'default';
}

function annotate(doc: Document, value: unknown, path: Array<string | number>, sources: ReadonlyMap<string, string>): void {
  const isLeaf = typeof value !== 'object' || value === null || (Array.isArray(value) && value.every((v) => typeof v !== 'object' || v === null));
  if (isLeaf || (Array.isArray(value) && value.length === 0) || (!Array.isArray(value) && Object.keys(value as object).length === 0)) {
    const node = doc.getIn(path, true) as Node | undefined;
    if (!node) return;
    if (isSeq(node) || isMap(node)) node.flow = true; // plain values (or none) on one line, their source beside them
    if (isScalar(node) || isSeq(node) || isMap(node)) node.comment = ` ${sourceOf(sources, path)}`;
    return;
  }
  if (Array.isArray(value)) value.forEach((v, i) => annotate(doc, v, [...path, i], sources));
  else for (const [k, v] of Object.entries(value as Record<string, unknown>)) annotate(doc, v, [...path, k], sources);
}

export function formatEffectiveConfig(loaded: LoadedConfig): string {
  const doc = new Document(loaded.config);
  annotate(doc, loaded.config, [], loaded.sources);
  return doc.toString({ lineWidth: 0 });
}
