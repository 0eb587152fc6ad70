# A Python https server for the tests: http.server over ssl (the system
# libssl, through the _ssl module), serving the current directory.
# Usage: python3 python-https-server.py PORT HOST CERT KEY
import http.server
import ssl
import sys

port, host, cert, key = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]

context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(cert, key)


class Handler(http.server.SimpleHTTPRequestHandler):
    # HTTP/1.1: the file handler sends Content-Length, so connections stay open.
    protocol_version = 'HTTP/1.1'

    def log_message(self, format, *args):
        pass


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    # The handshake runs in the connection's thread, not in accept(): a
    # client that connects and says nothing (the readiness probe) does not
    # hold up the others.
    def finish_request(self, request, client_address):
        with context.wrap_socket(request, server_side=True) as tls:
            self.RequestHandlerClass(tls, client_address, self)


Server((host, port), Handler).serve_forever()
