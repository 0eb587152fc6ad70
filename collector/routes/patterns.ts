/**
 * Route patterns users configure (`routes.patterns`), in the forms web
 * frameworks write them: "/users/{id}" or "/users/:id" for one segment,
 * "*" for one segment of any value, and a final "**" or "{*rest}" for
 * whatever follows. A path gets the most specific pattern that matches:
 * at each segment a literal beats a parameter, which beats a tail.
 */

type Segment = { kind: 'literal'; text: string } | { kind: 'param' } | { kind: 'tail' };

interface Node {
  readonly literals: Map<string, Node>;
  param: Node | null;
  /** The pattern ending here, if one does. */
  route: string | null;
  /** A pattern whose last segment takes every remaining segment. */
  tail: string | null;
}

const newNode = (): Node => ({ literals: new Map(), param: null, route: null, tail: null });

function segmentOf(text: string): Segment {
  if (text === '**' || /^\{\*[^}]*\}$/.test(text)) return { kind: 'tail' };
  if (text === '*' || /^\{[^}]+\}$/.test(text) || /^:[^/]+$/.test(text)) return { kind: 'param' };
  return { kind: 'literal', text };
}

/** Why a pattern cannot be used, or null. */
export function patternError(pattern: string): string | null {
  if (!pattern.startsWith('/')) return 'must start with "/"';
  const segments = pattern.split('/').slice(1);
  const tail = segments.findIndex((s) => segmentOf(s).kind === 'tail');
  if (tail >= 0 && tail !== segments.length - 1) return '"**" (or "{*name}") may only be the last segment';
  return null;
}

export class RoutePatterns {
  private readonly root = newNode();
  readonly size: number;

  /** Patterns must pass patternError (the config schema checks). */
  constructor(patterns: readonly string[]) {
    for (const p of patterns) this.add(p);
    this.size = patterns.length;
  }

  private add(pattern: string): void {
    let node = this.root;
    const segments = pattern.split('/').slice(1);
    for (const text of segments) {
      const s = segmentOf(text);
      if (s.kind === 'tail') {
        node.tail ??= pattern;
        return;
      }
      if (s.kind === 'param') node = node.param ??= newNode();
      else {
        let next = node.literals.get(s.text);
        if (!next) node.literals.set(s.text, (next = newNode()));
        node = next;
      }
    }
    node.route ??= pattern;
  }

  /** The pattern a path (no query) matches, or null. */
  match(path: string): string | null {
    if (this.size === 0 || path.charCodeAt(0) !== 0x2f) return null;
    return this.walk(this.root, path.split('/'), 1);
  }

  private walk(node: Node, segments: readonly string[], i: number): string | null {
    if (i === segments.length) return node.route ?? node.tail;
    const s = segments[i]!;
    const literal = node.literals.get(s);
    const viaLiteral = literal ? this.walk(literal, segments, i + 1) : null;
    if (viaLiteral !== null) return viaLiteral;
    // A parameter takes a whole, non-empty segment.
    const viaParam = node.param && s !== '' ? this.walk(node.param, segments, i + 1) : null;
    return viaParam ?? node.tail;
  }
}
