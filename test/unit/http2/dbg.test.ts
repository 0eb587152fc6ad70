import { it } from 'vitest';
import { readFileSync } from 'node:fs';
import { Http2Parser } from '../../../protocols/http2/Http2Parser.js';
it('dbg', () => {
  const ev = JSON.parse(readFileSync('/tmp/pycap.json', 'utf8'));
  const p = new Http2Parser();
  for (const e of ev) {
    if (e.end) { p.end(e.dir, e.t); continue; }
    const d = new Uint8Array(Buffer.from(e.b64, 'base64'));
    console.log(e.dir, d.length, Buffer.from(d.subarray(0, 80)).toString('hex'));
    p.push(e.dir, { data: d, length: d.length, tsFirst: e.t, tsLast: e.t });
    const out = p.drain();
    for (const t of out.transactions) console.log('TX', t.target, t.status, JSON.stringify(t.responseTrailers), t.truncated, t.unrecovered);
    for (const x of out.errors) console.log('ERR', JSON.stringify(x));
  }
});
