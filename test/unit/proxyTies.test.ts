import { describe, expect, it } from 'vitest';
import { ProxyTies } from '../../collector/conn/ProxyTies.js';
import type { RequestStart } from '../../protocols/types.js';

const req = (target: string, at: number, method = 'GET'): RequestStart => ({ method, target, requestHeaders: [], requestStart: at });

describe('ProxyTies', () => {
  it('ties a request sent to the one unanswered request of the process with the same method and target', () => {
    const t = new ProxyTies();
    const a = req('/a', 100);
    t.started(7, a);
    t.started(7, req('/b', 110));
    expect(t.servedBy(7, req('/a', 150))).toBe(a);
    expect(t.servedBy(7, req('/a', 150, 'POST'))).toBeUndefined();
    expect(t.servedBy(8, req('/a', 150))).toBeUndefined();
    expect(t.servedBy(7, req('/a', 50))).toBeUndefined(); // sent before it was read
  });

  it('two such requests in flight are ambiguous: no tie; once one is answered, the other ties', () => {
    const t = new ProxyTies();
    const a1 = req('/a', 100);
    const a2 = req('/a', 120);
    t.started(7, a1);
    t.started(7, a2);
    expect(t.servedBy(7, req('/a', 150))).toBeUndefined();
    t.finished(7, a1);
    expect(t.servedBy(7, req('/a', 160))).toBe(a2);
    t.finished(7, a2);
    expect(t.servedBy(7, req('/a', 170))).toBeUndefined();
  });

  it('forgets requests unanswered for a minute, and processes that exit', () => {
    const t = new ProxyTies();
    t.started(7, req('/a', 0));
    expect(t.servedBy(7, req('/a', 61e9))).toBeUndefined();
    const b = req('/b', 0);
    t.started(9, b);
    t.forgetProcess(9);
    expect(t.servedBy(9, req('/b', 10))).toBeUndefined();
  });
});
