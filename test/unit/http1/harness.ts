/**
 * A parser fed by hand: each push gets the next time (tsFirst = t,
 * tsLast = t + 5, t stepping by 10), and all output is gathered.
 */
import { Http1Parser } from '../../../protocols/http1/Http1Parser.js';
import type { Http1Limits } from '../../../protocols/http1/limits.js';
import type { FlowDirection, HttpTransaction, ParseError } from '../../../protocols/types.js';
import { bytes } from './replay.js';

export class Harness {
  readonly parser: Http1Parser;
  readonly transactions: HttpTransaction[] = [];
  readonly errors: ParseError[] = [];
  private t = 0;

  constructor(limits?: Partial<Http1Limits>) {
    this.parser = new Http1Parser(limits);
  }

  /** Pushes `data` (its captured prefix, when `length` is more) and returns its tsFirst. */
  toServer(data: string | Uint8Array, length?: number): number {
    return this.push('toServer', data, length);
  }

  toClient(data: string | Uint8Array, length?: number): number {
    return this.push('toClient', data, length);
  }

  end(direction: FlowDirection): void {
    this.t += 10;
    this.parser.end(direction, this.t);
    this.collect();
  }

  /** Error codes so far, in order. */
  get codes(): string[] {
    return this.errors.map((e) => e.code);
  }

  private push(direction: FlowDirection, data: string | Uint8Array, length?: number): number {
    const raw = typeof data === 'string' ? bytes(data) : data;
    this.t += 10;
    this.parser.push(direction, { data: raw, length: length ?? raw.length, tsFirst: this.t, tsLast: this.t + 5 });
    this.collect();
    return this.t;
  }

  private collect(): void {
    const out = this.parser.drain();
    this.transactions.push(...out.transactions);
    this.errors.push(...out.errors);
  }
}
