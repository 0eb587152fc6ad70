/**
 * A gRPC call (an HTTP/2 stream with content-type application/grpc) as a
 * span per the RPC semantic conventions: named "package.Service/Method",
 * with rpc.system=grpc, rpc.service, rpc.method and rpc.grpc.status_code;
 * a CLIENT span fails on any non-OK status, a SERVER span only on the
 * statuses that mean the server failed.
 */
import type { Resource } from '@opentelemetry/resources';
import {
  ATTR_CLIENT_ADDRESS,
  ATTR_CLIENT_PORT,
  ATTR_ERROR_TYPE,
  ATTR_NETWORK_PEER_ADDRESS,
  ATTR_NETWORK_PEER_PORT,
  ATTR_NETWORK_PROTOCOL_VERSION,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  ATTR_URL_SCHEME,
  ATTR_USER_AGENT_ORIGINAL,
} from '@opentelemetry/semantic-conventions';
import { GRPC_STATUS_NAMES, grpcFailed, grpcMethod, grpcStatusCode } from '../../protocols/grpc/status.js';
import type { ObservedTransaction } from '../conn/ConnectionTracker.js';
import { finishedSpan, header, protocolVersion, requestAuthority, splitHost, type SpanOptions, unrecoveredAttr } from './httpSpan.js';
import {
  ATTR_HTTP_REQUEST_BODY_SIZE,
  ATTR_HTTP_RESPONSE_BODY_SIZE,
  ATTR_RPC_GRPC_STATUS_CODE,
  ATTR_RPC_METHOD,
  ATTR_RPC_SERVICE,
  ATTR_RPC_SYSTEM,
  ATTR_SONDE_UNRECOVERED,
} from './semconv.js';
import type { SondeSpan } from './SondeSpan.js';

const KEYS = [
  ATTR_RPC_SYSTEM,
  ATTR_RPC_SERVICE,
  ATTR_RPC_METHOD,
  ATTR_RPC_GRPC_STATUS_CODE,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  ATTR_CLIENT_ADDRESS,
  ATTR_CLIENT_PORT,
  ATTR_NETWORK_PEER_ADDRESS,
  ATTR_NETWORK_PEER_PORT,
  ATTR_NETWORK_PROTOCOL_VERSION,
  ATTR_URL_SCHEME,
  ATTR_USER_AGENT_ORIGINAL,
  ATTR_HTTP_REQUEST_BODY_SIZE,
  ATTR_HTTP_RESPONSE_BODY_SIZE,
  ATTR_ERROR_TYPE,
  ATTR_SONDE_UNRECOVERED,
];

export function buildGrpcSpan(obs: ObservedTransaction, resource: Resource, opts: SpanOptions): SondeSpan {
  const { tx, endpoints } = obs;
  const isServer = obs.role === 'server';
  const rpc = tx.unrecovered?.includes('path') ? undefined : grpcMethod(tx.target);
  const code = grpcStatusCode(tx);
  const failed = grpcFailed(code, obs.role);
  const authority = requestAuthority(tx);
  const host = authority ? splitHost(authority) : undefined;
  const peer = endpoints.remote.address !== '' ? endpoints.remote : undefined;
  const server = isServer ? endpoints.local : peer;
  const values = [
    'grpc',
    rpc?.service,
    rpc?.method,
    code,
    host?.name || server?.address || undefined,
    host?.port ?? (server?.port || undefined),
    isServer ? peer?.address : undefined,
    isServer ? peer?.port : undefined,
    peer?.address,
    peer?.port,
    protocolVersion(tx.protocol),
    obs.tls ? 'https' : 'http',
    header(tx.requestHeaders, 'user-agent'),
    tx.requestBodySize,
    tx.responseBodySize,
    failed && code !== undefined ? (GRPC_STATUS_NAMES[code] ?? String(code)) : undefined,
    unrecoveredAttr(tx),
  ];
  return finishedSpan(obs, resource, opts, rpc ? `${rpc.service}/${rpc.method}` : 'grpc', failed, KEYS, values);
}
