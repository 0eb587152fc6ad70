# A grpcio server for the tests: grpc.examples.echo.Echo (echo.proto) with
# the behaviour all the gRPC test servers share: the request message
# "NOT_FOUND" fails with NOT_FOUND, "UNAVAILABLE" with UNAVAILABLE, "SLOW"
# answers after 3 s, anything else is echoed (server streaming: three times;
# client streaming: the messages joined by ","; bidi: each one). A failure
# on a streaming call comes before any response, so it goes out as a
# Trailers-Only response.
# Usage: python python_server.py PORT [--host HOST] [--tls CERT KEY]
# (with the venv's python, see scripts/grpc-peers.sh). Prints "listening PORT" once bound.
import sys
import threading
from concurrent import futures

import grpc

# No __pycache__ beside the peers in the work tree.
sys.dont_write_bytecode = True
from echo_pb import SERVICE, decode, encode

SLOW_S = 3.0


def fail_if_asked(context, message):
    if message == 'NOT_FOUND':
        context.abort(grpc.StatusCode.NOT_FOUND, 'not found')
    if message == 'UNAVAILABLE':
        context.abort(grpc.StatusCode.UNAVAILABLE, 'unavailable')


def pause(context, message):
    """Sleeps 3 s for "SLOW", cut short when the call ends first (the client's
    deadline): nobody would read the answer. False if the call has ended."""
    if message != 'SLOW':
        return True
    ended = threading.Event()
    if context.add_callback(ended.set):
        ended.wait(SLOW_S)
    return context.is_active()


def unary_echo(message, context):
    fail_if_asked(context, message)
    pause(context, message)
    return message


def server_streaming_echo(message, context):
    fail_if_asked(context, message)
    if pause(context, message):
        for _ in range(3):
            yield message


def client_streaming_echo(requests, context):
    messages = []
    for message in requests:
        fail_if_asked(context, message)
        messages.append(message)
    if 'SLOW' in messages:
        pause(context, 'SLOW')
    return ','.join(messages)


def bidirectional_streaming_echo(requests, context):
    for message in requests:
        fail_if_asked(context, message)
        if not pause(context, message):
            return
        yield message


def main(argv):
    host, port, tls = '127.0.0.1', None, None
    i = 0
    while i < len(argv):
        if argv[i] == '--host':
            host = argv[i + 1]
            i += 2
        elif argv[i] == '--tls':
            tls = (argv[i + 1], argv[i + 2])
            i += 3
        elif port is None:
            port = int(argv[i])
            i += 1
        else:
            sys.exit(f'python_server: unexpected argument {argv[i]}\n'
                     'usage: python_server.py PORT [--host HOST] [--tls CERT KEY]')
    codec = {'request_deserializer': decode, 'response_serializer': encode}
    handler = grpc.method_handlers_generic_handler(SERVICE, {
        'UnaryEcho': grpc.unary_unary_rpc_method_handler(unary_echo, **codec),
        'ServerStreamingEcho': grpc.unary_stream_rpc_method_handler(server_streaming_echo, **codec),
        'ClientStreamingEcho': grpc.stream_unary_rpc_method_handler(client_streaming_echo, **codec),
        'BidirectionalStreamingEcho': grpc.stream_stream_rpc_method_handler(bidirectional_streaming_echo, **codec),
    })
    # grpc core sets SO_REUSEPORT by default: a port another process holds
    # would then be shared silently instead of failing.
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=32), options=[('grpc.so_reuseport', 0)])
    server.add_generic_rpc_handlers((handler,))
    address = f'[{host}]:{port}' if ':' in host else f'{host}:{port}'
    if tls:
        with open(tls[0], 'rb') as cert, open(tls[1], 'rb') as key:
            bound = server.add_secure_port(address, grpc.ssl_server_credentials([(key.read(), cert.read())]))
    else:
        bound = server.add_insecure_port(address)
    server.start()
    print(f'listening {bound}', flush=True)
    server.wait_for_termination()


if __name__ == '__main__':
    main(sys.argv[1:])
