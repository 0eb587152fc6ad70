/**
 * "Did you mean": the known key nearest to a misspelt one, from the schema
 * itself, so a config carried over from another tool (`open_port`,
 * `exe_paths`) is fixed by reading one line.
 */
import { z } from 'zod';
import { configSchema } from './schema.js';

interface JsonSchemaNode {
  properties?: Record<string, JsonSchemaNode>;
  items?: JsonSchemaNode;
  anyOf?: JsonSchemaNode[];
}

let root: JsonSchemaNode | undefined;

/** The keys the schema allows at `path` (array indices step into the items). */
export function knownKeys(path: readonly string[]): string[] {
  root ??= z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }) as JsonSchemaNode;
  let node: JsonSchemaNode | undefined = root;
  for (const part of path) {
    if (!node) return [];
    node = /^\d+$/.test(part) ? node.items : objectOf(node)?.properties?.[part];
  }
  return node ? Object.keys(objectOf(node)?.properties ?? {}) : [];
}

function objectOf(node: JsonSchemaNode): JsonSchemaNode | undefined {
  if (node.properties) return node;
  return node.anyOf?.find((n) => n.properties);
}

/** Levenshtein distance, two rows: keys are short. */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}

/** The candidate within a third of the word's length in edits, if one is. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(1, Math.floor(word.length / 3)) + 1;
  for (const c of candidates) {
    const d = distance(word.toLowerCase(), c);
    if (d < bestDistance) [best, bestDistance] = [c, d];
  }
  return best;
}
