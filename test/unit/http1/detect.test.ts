import { describe, it, expect } from 'vitest';
import { detectHttp1 } from '../../../protocols/http1/detect.js';
import { bytes } from './replay.js';

const detect = (text: string) => detectHttp1(bytes(text));

describe('detectHttp1', () => {
  it('recognises requests with common methods from their first bytes', () => {
    expect(detect('GET / HTTP/1.1\r\nHost: a\r\n\r\n')).toBe('request');
    expect(detect('POST ')).toBe('request');
    expect(detect('OPTIONS * HTTP/1.1\r\n')).toBe('request');
    expect(detect('CONNECT host:443 HTTP/1.1\r\n')).toBe('request');
    expect(detect('\r\nDELETE /x HTTP/1.0\r\n')).toBe('request');
  });

  it('recognises responses', () => {
    expect(detect('HTTP/1.1 200 OK\r\n')).toBe('response');
    expect(detect('HTTP/1.0 404 Not Found\r\n')).toBe('response');
    expect(detect('HTTP/1.1 204\r\n')).toBe('response');
  });

  it('asks for more while the bytes still fit', () => {
    expect(detect('')).toBe('more');
    expect(detect('G')).toBe('more');
    expect(detect('GET')).toBe('more');
    expect(detect('HTTP/1.')).toBe('more');
    expect(detect('HTTP/1.1 20')).toBe('more');
    expect(detect('PROPFIND /dav/ HTT')).toBe('more');
  });

  it('takes unknown upper-case methods only with a whole valid request line', () => {
    expect(detect('PROPFIND /dav/ HTTP/1.1\r\n')).toBe('request');
    expect(detect('PURGE http://cache/x HTTP/1.1\r\n')).toBe('request');
    expect(detect('PROPFIND /dav/ XTTP/1.1\r\n')).toBe('no');
    expect(detect('FOO bar HTTP/1.1\r\n')).toBe('no');
    expect(detect(`LONGMETHOD /${'a'.repeat(9000)}`)).toBe('no');
  });

  it('says no to other protocols', () => {
    expect(detect('get / HTTP/1.1\r\n')).toBe('no');
    expect(detect('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n')).toBe('no');
    expect(detect('HTTP/2 200\r\n')).toBe('no');
    expect(detect('HTTP/1.1 600 Weird\r\n')).toBe('no');
    expect(detect('SSH-2.0-OpenSSH_9.2\r\n')).toBe('no');
    expect(detect('*1\r\n$4\r\nPING\r\n')).toBe('no');
    expect(detect('PING\r\n')).toBe('no');
    expect(detect('\r\n\r\n\r\nGET / HTTP/1.1\r\n')).toBe('no');
    expect(detectHttp1(new Uint8Array([0x16, 0x03, 0x01, 0x02, 0x00, 0x01]))).toBe('no');
    expect(detectHttp1(new Uint8Array([0x00, 0x00, 0x00, 0x08, 0x04, 0xd2, 0x16, 0x2f]))).toBe('no');
  });
});
