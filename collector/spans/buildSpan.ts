/** Picks the span shape for a transaction: a gRPC call, or an HTTP request. */
import type { Resource } from '@opentelemetry/resources';
import { isGrpc } from '../../protocols/grpc/status.js';
import type { ObservedTransaction } from '../conn/ConnectionTracker.js';
import { buildGrpcSpan } from './grpcSpan.js';
import { buildHttpSpan, type SpanOptions } from './httpSpan.js';
import type { SondeSpan } from './SondeSpan.js';

export function buildSpan(obs: ObservedTransaction, resource: Resource, opts: SpanOptions): SondeSpan {
  return obs.tx.protocol === 'HTTP/2' && isGrpc(obs.tx) ? buildGrpcSpan(obs, resource, opts) : buildHttpSpan(obs, resource, opts);
}
