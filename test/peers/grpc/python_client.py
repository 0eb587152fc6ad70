# A grpcio client for the tests: calls grpc.examples.echo.Echo (echo.proto)
# on ONE channel (one HTTP/2 connection), one call after the other, and
# prints one JSON line per call:
#   {"call":"unary","message":"x","code":0,"details":"","responses":1}
# message is the last response's message ("" if none), code the gRPC status
# code (details "" when it is OK); a failed call is a result, not an error,
# so the exit status is 0.
# Usage: python python_client.py HOST:PORT CALLSPEC... [--tls CA] [--deadline-ms N] [--concurrent N]
# CALLSPEC: unary:MSG, server:MSG, client:A,B,..., bidi:A,B,... (client and
# bidi send each comma-separated part as one message). --concurrent N runs
# each callspec N times at once on the one channel.
import json
import sys
from concurrent import futures

import grpc

# No __pycache__ beside the peers in the work tree.
sys.dont_write_bytecode = True
from echo_pb import SERVICE, decode, encode

USAGE = 'usage: python_client.py HOST:PORT CALLSPEC... [--tls CA] [--deadline-ms N] [--concurrent N]'
KINDS = ('unary', 'server', 'client', 'bidi')


def result(call, message='', responses=0, error=None):
    code, details = 0, ''
    if error is not None:
        code, details = error.code().value[0], error.details() or ''
    return {'call': call, 'message': message, 'code': code, 'details': details, 'responses': responses}


class Caller:
    def __init__(self, channel, timeout):
        codec = {'request_serializer': encode, 'response_deserializer': decode}
        self.unary = channel.unary_unary(f'/{SERVICE}/UnaryEcho', **codec)
        self.server = channel.unary_stream(f'/{SERVICE}/ServerStreamingEcho', **codec)
        self.client = channel.stream_unary(f'/{SERVICE}/ClientStreamingEcho', **codec)
        self.bidi = channel.stream_stream(f'/{SERVICE}/BidirectionalStreamingEcho', **codec)
        self.timeout = timeout

    def run(self, kind, message):
        parts = message.split(',')
        if kind == 'unary':
            try:
                return result(kind, self.unary(message, timeout=self.timeout), 1)
            except grpc.RpcError as e:
                return result(kind, error=e)
        if kind == 'client':
            try:
                return result(kind, self.client(iter(parts), timeout=self.timeout), 1)
            except grpc.RpcError as e:
                return result(kind, error=e)
        responses = self.server(message, timeout=self.timeout) if kind == 'server' else self.bidi(iter(parts), timeout=self.timeout)
        n, last = 0, ''
        try:
            for last in responses:
                n += 1
        except grpc.RpcError as e:
            return result(kind, last, n, e)
        return result(kind, last, n)


def main(argv):
    target, ca, deadline_ms, concurrent, specs = None, None, 0, 1, []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in ('--tls', '--deadline-ms', '--concurrent') and i + 1 < len(argv):
            value = argv[i + 1]
            if a == '--tls':
                ca = value
            elif a == '--deadline-ms':
                deadline_ms = int(value)
            else:
                concurrent = max(1, int(value))
            i += 2
            continue
        if target is None:
            target = a
        else:
            kind, colon, message = a.partition(':')
            if not colon or kind not in KINDS:
                sys.exit(f'python_client: bad callspec {a}\n{USAGE}')
            specs.append((kind, message))
        i += 1
    if target is None:
        sys.exit(f'python_client: no target\n{USAGE}')

    # No retries: one call is one HTTP/2 stream, whatever the status.
    options = [('grpc.enable_retries', 0)]
    if ca:
        with open(ca, 'rb') as f:
            channel = grpc.secure_channel(target, grpc.ssl_channel_credentials(root_certificates=f.read()), options)
    else:
        channel = grpc.insecure_channel(target, options)
    caller = Caller(channel, deadline_ms / 1000 if deadline_ms > 0 else None)
    # Connect first, so a deadline times the call alone, not the connection's
    # setup too. Failing that, the calls say why.
    try:
        grpc.channel_ready_future(channel).result(timeout=10)
    except grpc.FutureTimeoutError:
        pass
    with channel, futures.ThreadPoolExecutor(max_workers=concurrent) as pool:
        for kind, message in specs:
            calls = [pool.submit(caller.run, kind, message) for _ in range(concurrent)]
            for call in calls:
                print(json.dumps(call.result(), separators=(',', ':')), flush=True)


if __name__ == '__main__':
    main(sys.argv[1:])
