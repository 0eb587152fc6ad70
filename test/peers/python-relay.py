# A Python app for the tests that calls another service while it serves a
# request: http.server with a thread per connection; GET /relay?to=URL
# fetches URL with urllib (its own connection) and answers 200 with the
# status it got. Usage: python3 python-relay.py PORT
import http.server
import sys
import urllib.error
import urllib.parse
import urllib.request


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def do_GET(self):
        query = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query)
        status = 0
        for to in query.get('to', []):
            try:
                with urllib.request.urlopen(to) as answer:
                    answer.read()
                    status = answer.status
            except urllib.error.HTTPError as e:
                status = e.code
        body = str(status).encode()
        self.send_response(200)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):
        pass


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True


Server(('127.0.0.1', int(sys.argv[1])), Handler).serve_forever()
