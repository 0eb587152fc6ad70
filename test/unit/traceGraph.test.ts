/** Where spans belong in traces: decided at request start, read when the span is built. */
import { describe, expect, it } from 'vitest';
import { hexOf, SpanIdPool, TRACE_ID_BYTES } from '../../collector/spans/SpanIds.js';
import { resolve, TraceGraph, type Placement } from '../../collector/spans/TraceGraph.js';
import type { Header, RequestStart } from '../../protocols/types.js';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT = '00f067aa0ba902b7';
/** A placement as the span built from it will be. */
const view = (p: Placement) => ({ ...resolve(p), traceId: hexOf(p.ids, p.offset, TRACE_ID_BYTES), spanId: p.spanIdHex });
const graph = (max?: number): TraceGraph => new TraceGraph(new SpanIdPool(), max);
const req = (target: string, headers: Header[] = []): RequestStart => ({ method: 'GET', target, requestHeaders: headers, requestStart: 1 });

/** Requests by name in one test: the graph keys placements by the request object. */
const named = new Map<string, RequestStart>();
const R = (name: string, r: RequestStart): RequestStart => {
  named.set(name, r);
  return r;
};
const K = (name: string): RequestStart => named.get(name)!;

describe('TraceGraph', () => {
  it('a request with no tie is a root of its own trace', () => {
    const g = graph();
    g.serverStarted(R('s', req('/')), undefined, true);
    const r = view(g.take(K('s'), undefined)!);
    expect(r.parent).toBeUndefined();
    expect(r.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(g.size).toBe(0);
  });

  it('a traceparent: the SERVER span is the remote parent’s child; a CLIENT span takes the ids it hands on', () => {
    const g = graph();
    const tp: Header[] = [['traceparent', `00-${TRACE}-${PARENT}-01`]];
    g.serverStarted(R('s', req('/', tp)), undefined, true);
    g.clientStarted(R('c', req('/', tp)), undefined, undefined);
    expect(view(g.take(K('s'), undefined)!)).toMatchObject({ traceId: TRACE, parent: { spanId: PARENT } });
    expect(view(g.take(K('c'), undefined)!)).toMatchObject({ traceId: TRACE, spanId: PARENT, parent: undefined });
  });

  it('a proxy passing on the traceparent it was sent: its CLIENT span is its SERVER span\'s child, with an id of its own', () => {
    const g = graph();
    const tp: Header[] = [['traceparent', `00-${TRACE}-${PARENT}-01`]];
    g.serverStarted(R('s', req('/', tp)), undefined, true);
    g.clientStarted(R('c', req('/', tp)), undefined, K('s'));
    const server = view(g.take(K('s'), undefined)!);
    const client = view(g.take(K('c'), undefined)!);
    expect(client).toMatchObject({ traceId: TRACE, parent: { spanId: server.spanId } });
    expect(client.spanId).not.toBe(PARENT);
  });

  it('both ends on this host: client first, then server; or server first (its read overtook the send): the same tie', () => {
    for (const serverFirst of [false, true]) {
      const g = graph();
      if (serverFirst) g.serverStarted(R('s', req('/x')), 'a>b@1', true);
      g.clientStarted(R('c', req('/x')), 'a>b@1', undefined);
      if (!serverFirst) g.serverStarted(R('s', req('/x')), 'a>b@1', true);
      const server = view(g.take(K('s'), 'a>b@1')!);
      const client = view(g.take(K('c'), 'a>b@1')!);
      expect(server.parent?.spanId).toBe(client.spanId);
      expect(server.traceId).toBe(client.traceId);
      expect(client.parent).toBeUndefined();
    }
  });

  it('a server end whose client end never comes (its request lost) gets no parent, not a missing one', () => {
    const g = graph();
    g.serverStarted(R('s', req('/x')), 'a>b@1', true);
    expect(view(g.take(K('s'), undefined)!).parent).toBeUndefined();
  });

  it('ends that disagree on the request are left apart, counted', () => {
    const g = graph();
    g.clientStarted(R('c', req('/x')), 'a>b@1', undefined);
    g.serverStarted(R('s', req('/y')), 'a>b@1', true);
    expect(view(g.take(K('s'), 'a>b@1')!).parent).toBeUndefined();
    expect(g.stats.mismatched).toBe(1);
  });

  it('a chain: upstream client -> server -> a call it makes while serving -> downstream server, one trace', () => {
    const g = graph();
    const tp: Header[] = [['traceparent', `00-${TRACE}-${PARENT}-01`]];
    g.clientStarted(R('curl', req('/a', tp)), 'c>p@1', undefined);
    g.serverStarted(R('py-in', req('/a', tp)), 'c>p@1', true);
    g.clientStarted(R('py-out', req('/b')), 'p>n@9', K('py-in'));
    // The downstream read overtakes nothing here; its trace is the chain's.
    g.serverStarted(R('node-in', req('/b')), 'p>n@9', true);
    const node = view(g.take(K('node-in'), 'p>n@9')!);
    const out = view(g.take(K('py-out'), 'p>n@9')!);
    const pyIn = view(g.take(K('py-in'), 'c>p@1')!);
    const curl = view(g.take(K('curl'), 'c>p@1')!);
    expect([node.traceId, out.traceId, pyIn.traceId, curl.traceId]).toEqual([TRACE, TRACE, TRACE, TRACE]);
    expect(node.parent?.spanId).toBe(out.spanId);
    expect(out.parent?.spanId).toBe(pyIn.spanId);
    expect(pyIn.parent?.spanId).toBe(PARENT);
    expect(curl.spanId).toBe(PARENT);
  });

  it('a late client end joins a chain its server end started: the trace is read when the span is built', () => {
    const g = graph();
    g.serverStarted(R('up', req('/a')), undefined, true);
    g.serverStarted(R('down', req('/b')), 'p>n@9', true); // the downstream read came first
    g.clientStarted(R('out', req('/b')), 'p>n@9', K('up'));
    const up = view(g.take(K('up'), undefined)!);
    const down = view(g.take(K('down'), 'p>n@9')!);
    expect(down.traceId).toBe(up.traceId);
  });

  it('an unsampled traceparent: the whole chain under it is unsampled', () => {
    const g = graph();
    g.serverStarted(R('in', req('/a', [['traceparent', `00-${TRACE}-${PARENT}-00`]])), undefined, true);
    g.clientStarted(R('out', req('/b')), undefined, K('in'));
    expect(view(g.take(K('out'), undefined)!).traceFlags).toBe(0);
  });

  it('a request nothing can tie (no traceparent, other end not traced, thread shared) gets no placement', () => {
    const g = graph();
    g.serverStarted(R('s', req('/')), undefined, false);
    expect(g.size).toBe(0);
    expect(g.take(K('s'), undefined)).toBeUndefined();
  });

  it('is bounded: placements never taken are dropped, counted', () => {
    const g = graph(2);
    for (const k of ['1', '2', '3']) g.serverStarted(R(k, req('/')), undefined, true);
    expect(g.size).toBe(2);
    expect(g.stats.unmet).toBe(1);
  });
});
