import { describe, expect, it } from 'vitest';
import { FieldList, parseHeaderLines } from '../../../protocols/http1/headers.js';
import type { Header } from '../../../protocols/types.js';

const bytes = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));

function parse(head: string): Header[] {
  const b = bytes(head);
  const out = new FieldList();
  expect(parseHeaderLines(b, 0, b.length, 100, out)).toBe(b.length);
  return out.take();
}

describe('header fields of common names', () => {
  it('are handed back as the same tuple when their bytes repeat, whatever the case and spacing', () => {
    const a = parse('Host: example.com\r\nX-Odd: 1\r\n\r\n');
    const b = parse('host:example.com  \r\nX-Odd: 1\r\n\r\n');
    expect(b).toEqual([['host', 'example.com'], ['x-odd', '1']]);
    expect(b[0]).toBe(a[0]);
    expect(b[1]).not.toBe(a[1]); // not a common name: not kept
  });

  it('differ when the value differs, and long values are not kept', () => {
    const a = parse('Content-Length: 6\r\n\r\n');
    const b = parse('Content-Length: 7\r\n\r\n');
    expect(b).toEqual([['content-length', '7']]);
    expect(b[0]).not.toBe(a[0]);
    const long = 'x'.repeat(300);
    const c = parse(`User-Agent: ${long}\r\n\r\n`);
    expect(parse(`User-Agent: ${long}\r\n\r\n`)[0]).not.toBe(c[0]);
    expect(c).toEqual([['user-agent', long]]);
  });

  it('an obs-fold makes a new field, leaving the kept one as it was', () => {
    const a = parse('Accept: a\r\n\r\n');
    const b = parse('Accept: a\r\n b\r\n\r\n');
    expect(b).toEqual([['accept', 'a b']]);
    expect(a).toEqual([['accept', 'a']]);
    expect(parse('Accept: a\r\n\r\n')[0]).toBe(a[0]);
  });

  it('give the right value whichever kept value was used last, and as values are replaced', () => {
    // 12 values over 8 kept, in an order that looks up each kept place and replaces some.
    const order = [0, 1, 2, 3, 4, 5, 6, 7, 3, 3, 0, 8, 9, 1, 10, 11, 2, 9, 0, 11, 5];
    for (const v of order) {
      const value = `Thu, 03 Dec 2026 23:45:${String(v).padStart(2, '0')} GMT`;
      expect(parse(`Date: ${value}\r\n\r\n`)).toEqual([['date', value]]);
    }
    const x = parse('Date: Thu, 03 Dec 2026 23:45:05 GMT\r\n\r\n');
    expect(parse('Date: Thu, 03 Dec 2026 23:45:05 GMT\r\n\r\n')[0]).toBe(x[0]);
  });
});
