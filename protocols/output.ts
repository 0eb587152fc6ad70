/**
 * What a parser has to hand out at its next drain. Lists are made on their
 * first item (`append`), and drain refills one output object owned by the
 * parser: a drain with nothing new allocates nothing, and one with news
 * allocates only its lists. The output is valid until the next drain.
 */
import { append } from './append.js';
import { NO_ITEMS, NOTHING_PARSED, type HttpTransaction, type ParseError, type ParseOutput, type RequestStart } from './types.js';

export class PendingOutput {
  private transactions: HttpTransaction[] | null = null;
  private errors: ParseError[] | null = null;
  private started: RequestStart[] | null = null;
  private readonly output: { -readonly [K in keyof ParseOutput]: ParseOutput[K] } = { transactions: NO_ITEMS, errors: NO_ITEMS, started: NO_ITEMS };

  transaction(t: HttpTransaction): void {
    this.transactions = append(this.transactions, t);
  }

  error(e: ParseError): void {
    this.errors = append(this.errors, e);
  }

  start(r: RequestStart): void {
    this.started = append(this.started, r);
  }

  drain(): ParseOutput {
    const { transactions, errors, started } = this;
    if (transactions === null && errors === null && started === null) return NOTHING_PARSED;
    const out = this.output;
    out.transactions = transactions ?? NO_ITEMS;
    out.errors = errors ?? NO_ITEMS;
    out.started = started ?? NO_ITEMS;
    this.transactions = null;
    this.errors = null;
    this.started = null;
    return out;
  }
}
