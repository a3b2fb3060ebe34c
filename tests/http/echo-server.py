#!/usr/bin/env python3
"""echo-server.py: the HTTP/1.1 server of tests/http for what http-fault-server.py does not do.

    echo-server.py

Listens on 127.0.0.1 at an ephemeral port, printed as the first line of stdout
("PORT 41234"):

    POST /echo          200 with the request body back, labelled with the request's
                        Content-Type (none when it sent none), and X-Method: POST
    GET /type/long      200 "typed\n", a Content-Type of 300 bytes ("text/plain; ...")
    GET /type/latin1    200 "typed\n", a Content-Type holding a byte above 0x7f

The server exits when stdin closes or on SIGTERM.
"""

import http.server
import os
import signal
import socketserver
import sys
import threading

TYPES = {
    "/type/long": "text/plain; comment=" + "x" * 280,
    "/type/latin1": "text/plain; charset=caf\u00e9",
}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, code, body, content_type=None, extra=()):
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        if content_type is not None:
            self.send_header("Content-Type", content_type)
        for name, value in extra:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.path != "/echo":
            return self.reply(404, b"not found\n")
        self.reply(200, body, self.headers.get("Content-Type"), [("X-Method", "POST")])

    def do_GET(self):
        if self.path in TYPES:
            return self.reply(200, b"typed\n", TYPES[self.path])
        self.reply(404, b"not found\n")


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def server_bind(self):
        socketserver.TCPServer.server_bind(self)  # without HTTPServer's reverse DNS lookup
        self.server_name, self.server_port = self.server_address[:2]


def stop_when_stdin_closes():
    while sys.stdin.buffer.read(4096):
        pass
    os._exit(0)


def main():
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    server = Server(("127.0.0.1", 0), Handler)
    print("PORT %d" % server.server_address[1], flush=True)
    threading.Thread(target=stop_when_stdin_closes, daemon=True).start()
    server.serve_forever()


if __name__ == "__main__":
    main()
