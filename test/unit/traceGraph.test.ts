/** Where spans belong in traces: decided at request start, read when the span is built. */
import { describe, expect, it } from 'vitest';
import { resolve, TraceGraph } from '../../collector/spans/TraceGraph.js';
import type { Header, RequestStart } from '../../protocols/types.js';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT = '00f067aa0ba902b7';
const req = (target: string, headers: Header[] = []): RequestStart => ({ method: 'GET', target, requestHeaders: headers, requestStart: 1 });

describe('TraceGraph', () => {
  it('a request with no tie is a root of its own trace', () => {
    const g = new TraceGraph();
    g.serverStarted('s', req('/'), undefined);
    const r = resolve(g.take('s', undefined)!);
    expect(r.parent).toBeUndefined();
    expect(r.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(g.size).toBe(0);
  });

  it('a traceparent: the SERVER span is the remote parent’s child; a CLIENT span takes the ids it hands on', () => {
    const g = new TraceGraph();
    const tp: Header[] = [['traceparent', `00-${TRACE}-${PARENT}-01`]];
    g.serverStarted('s', req('/', tp), undefined);
    g.clientStarted('c', req('/', tp), undefined, undefined);
    expect(resolve(g.take('s', undefined)!)).toMatchObject({ traceId: TRACE, parent: { spanId: PARENT } });
    expect(resolve(g.take('c', undefined)!)).toMatchObject({ traceId: TRACE, spanId: PARENT, parent: undefined });
  });

  it('both ends on this host: client first, then server; or server first (its read overtook the send): the same tie', () => {
    for (const serverFirst of [false, true]) {
      const g = new TraceGraph();
      if (serverFirst) g.serverStarted('s', req('/x'), 'a>b@1');
      g.clientStarted('c', req('/x'), 'a>b@1', undefined);
      if (!serverFirst) g.serverStarted('s', req('/x'), 'a>b@1');
      const server = resolve(g.take('s', 'a>b@1')!);
      const client = resolve(g.take('c', 'a>b@1')!);
      expect(server.parent?.spanId).toBe(client.spanId);
      expect(server.traceId).toBe(client.traceId);
      expect(client.parent).toBeUndefined();
    }
  });

  it('ends that disagree on the request are left apart, counted', () => {
    const g = new TraceGraph();
    g.clientStarted('c', req('/x'), 'a>b@1', undefined);
    g.serverStarted('s', req('/y'), 'a>b@1');
    expect(resolve(g.take('s', 'a>b@1')!).parent).toBeUndefined();
    expect(g.stats.mismatched).toBe(1);
  });

  it('a chain: upstream client -> server -> a call it makes while serving -> downstream server, one trace', () => {
    const g = new TraceGraph();
    const tp: Header[] = [['traceparent', `00-${TRACE}-${PARENT}-01`]];
    g.clientStarted('curl', req('/a', tp), 'c>p@1', undefined);
    g.serverStarted('py-in', req('/a', tp), 'c>p@1');
    g.clientStarted('py-out', req('/b'), 'p>n@9', 'py-in');
    // The downstream read overtakes nothing here; its trace is the chain's.
    g.serverStarted('node-in', req('/b'), 'p>n@9');
    const node = resolve(g.take('node-in', 'p>n@9')!);
    const out = resolve(g.take('py-out', 'p>n@9')!);
    const pyIn = resolve(g.take('py-in', 'c>p@1')!);
    const curl = resolve(g.take('curl', 'c>p@1')!);
    expect([node.traceId, out.traceId, pyIn.traceId, curl.traceId]).toEqual([TRACE, TRACE, TRACE, TRACE]);
    expect(node.parent?.spanId).toBe(out.spanId);
    expect(out.parent?.spanId).toBe(pyIn.spanId);
    expect(pyIn.parent?.spanId).toBe(PARENT);
    expect(curl.spanId).toBe(PARENT);
  });

  it('a late client end joins a chain its server end started: the trace is read when the span is built', () => {
    const g = new TraceGraph();
    g.serverStarted('up', req('/a'), undefined);
    g.serverStarted('down', req('/b'), 'p>n@9'); // the downstream read came first
    g.clientStarted('out', req('/b'), 'p>n@9', 'up');
    const up = resolve(g.take('up', undefined)!);
    const down = resolve(g.take('down', 'p>n@9')!);
    expect(down.traceId).toBe(up.traceId);
  });

  it('an unsampled traceparent: the whole chain under it is unsampled', () => {
    const g = new TraceGraph();
    g.serverStarted('in', req('/a', [['traceparent', `00-${TRACE}-${PARENT}-00`]]), undefined);
    g.clientStarted('out', req('/b'), undefined, 'in');
    expect(resolve(g.take('out', undefined)!).traceFlags).toBe(0);
  });

  it('is bounded: placements never taken are dropped, counted', () => {
    const g = new TraceGraph(2);
    for (const k of ['1', '2', '3']) g.serverStarted(k, req('/'), undefined);
    expect(g.size).toBe(2);
    expect(g.stats.unmet).toBe(1);
  });
});
