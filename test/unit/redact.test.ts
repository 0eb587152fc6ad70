import { describe, expect, it } from 'vitest';
import { redactQuery } from '../../collector/spans/redact.js';

describe('redactQuery', () => {
  it.each([
    ['id=7&token=s3cret', 'id=7&token=REDACTED'],
    ['access_token=a&refresh_token=b&page=2', 'access_token=REDACTED&refresh_token=REDACTED&page=2'],
    ['X-Amz-Signature=abc&X-Amz-Credential=k&X-Amz-Date=20240101', 'X-Amz-Signature=REDACTED&X-Amz-Credential=REDACTED&X-Amz-Date=20240101'],
    ['AWSAccessKeyId=AKIA&Expires=1&Signature=x', 'AWSAccessKeyId=REDACTED&Expires=1&Signature=REDACTED'],
    ['sig=1&q=cats', 'sig=REDACTED&q=cats'],
    ['api_key=k&apiKey=k2&password=p&sessionid=s', 'api_key=REDACTED&apiKey=REDACTED&password=REDACTED&sessionid=REDACTED'],
    ['pass%77ord=p', 'pass%77ord=REDACTED'],
    ['q=token&flag&=x&', 'q=token&flag&=x&'],
    ['', ''],
  ])('%s -> %s', (q, out) => {
    expect(redactQuery(q)).toBe(out);
  });
});
