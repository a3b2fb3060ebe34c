#!/usr/bin/env python3
"""http-fault-server.py: a static HTTP/1.1 server for the transport tests, with faults chosen by URL.

    http-fault-server.py FOLDER [LOG]

Serves FOLDER on 127.0.0.1 at an ephemeral port, printed as the first line of stdout
("PORT 41234"). The first path component picks the behaviour:

    /ok/P               the file, honouring a Range (206)
    /stall/P            headers and half the body (or range), then silence forever
    /silent/P           reads the request, never answers
    /reset/P            headers and half the body (or range), then a TCP reset (SO_LINGER 0)
    /endless/P          no length, zeros until the client goes away
    /drop-once/P        the first request for P closes halfway; later ones are /ok/
    /ignore-range/P     always 200 with the whole body
    /status/CODE/P      that status, with a short body
    /redirect/P         302 to /ok/P
    /redirect-file/P    302 to file:///etc/passwd
    /redirect-loop/P    302 to itself

Each request is appended to LOG as "GET PATH RANGE" (RANGE is "-" without one), and an
endless stream, once cut, as "ENDLESS SENT N". The server exits when stdin closes or on
SIGTERM.
"""

import http.server
import os
import re
import signal
import socket
import socketserver
import struct
import sys
import threading
import time

ROOT = os.path.realpath(sys.argv[1])
LOG = sys.argv[2] if len(sys.argv) > 2 else None
log_lock = threading.Lock()
dropped = set()
forever = threading.Event()  # never set: what a stalled handler waits on


def log(line):
    if LOG:
        with log_lock, open(LOG, "a") as f:
            f.write(line + "\n")


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass  # quiet: the tests print nothing on success

    def do_GET(self):
        log("GET %s %s" % (self.path, self.headers.get("Range", "-")))
        mode, _, rest = self.path.lstrip("/").partition("/")
        if mode == "status":
            code, _, rest = rest.partition("/")
            return self.reply(int(code), b"status page\n")
        if mode == "redirect":
            return self.redirect("/ok/" + rest)
        if mode == "redirect-file":
            return self.redirect("file:///etc/passwd")
        if mode == "silent":
            forever.wait()
        if mode == "redirect-loop":
            return self.redirect(self.path)
        data = self.load(rest)
        if data is None:
            return self.reply(404, b"not found\n")
        if mode == "ok":
            return self.serve(data, honour_range=True)
        if mode == "ignore-range":
            return self.serve(data, honour_range=False)
        if mode == "drop-once":
            with log_lock:
                first = rest not in dropped
                dropped.add(rest)
            if not first:
                return self.serve(data, honour_range=True)
            self.head(200, len(data))
            self.wfile.write(data[: len(data) // 2])
            self.close_connection = True  # a clean close, short of Content-Length
            return
        if mode == "stall":
            self.serve(data, honour_range=True, fraction=0.5)
            forever.wait()
        if mode == "reset":
            self.serve(data, honour_range=True, fraction=0.5)
            time.sleep(0.2)  # let the client take what was sent: the reset may drop unread data
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True
            return
        if mode == "endless":
            return self.endless()
        self.reply(404, b"unknown mode\n")

    def load(self, rest):
        path = os.path.realpath(os.path.join(ROOT, rest))
        if not path.startswith(ROOT + os.sep) or not os.path.isfile(path):
            return None
        with open(path, "rb") as f:
            return f.read()

    def head(self, code, length, extra=()):
        self.send_response(code)
        if length is not None:
            self.send_header("Content-Length", str(length))
        for name, value in extra:
            self.send_header(name, value)
        self.end_headers()

    def reply(self, code, body):
        self.head(code, len(body))
        self.wfile.write(body)

    def redirect(self, location):
        self.head(302, 0, [("Location", location)])

    def serve(self, data, honour_range, fraction=1.0):
        """The file or the asked range of it, but only that fraction of the body."""
        m = re.fullmatch(r"bytes=(\d+)-(\d*)", self.headers.get("Range", ""))
        if not honour_range or not m:
            self.head(200, len(data), [("Accept-Ranges", "bytes")] if honour_range else [])
            self.wfile.write(data[: int(len(data) * fraction)])
            return
        start = int(m.group(1))
        end = min(int(m.group(2)) if m.group(2) else len(data) - 1, len(data) - 1)
        if start >= len(data) or end < start:
            return self.head(416, 0, [("Content-Range", "bytes */%d" % len(data))])
        self.head(206, end + 1 - start, [("Content-Range", "bytes %d-%d/%d" % (start, end, len(data)))])
        self.wfile.write(data[start : start + int((end + 1 - start) * fraction)])

    def endless(self):
        self.close_connection = True
        self.send_response(200)
        self.send_header("Connection", "close")
        self.end_headers()
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 64 * 1024)
        chunk, sent = bytes(64 * 1024), 0
        try:
            while True:
                self.wfile.write(chunk)
                sent += len(chunk)
        except OSError:
            log("ENDLESS SENT %d" % sent)


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def server_bind(self):
        socketserver.TCPServer.server_bind(self)  # without HTTPServer's reverse DNS lookup
        self.server_name, self.server_port = self.server_address[:2]

    def handle_error(self, request, client_address):
        pass  # a client that went away is what most of these tests do


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
