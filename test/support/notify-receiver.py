#!/usr/bin/env python3
"""A real HTTP receiver for the notification tests (dead-man's-switch pings and webhooks).

Records every request as one JSON line (time, method, path, headers, body) in --log and
answers 200 "OK". Prints "listening on <port>" once bound (--port 0: any free port).
Standard library only: runs on any Debian host with python3 (the lab's too).
"""
import argparse
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

parser = argparse.ArgumentParser()
parser.add_argument("--host", default="127.0.0.1")
parser.add_argument("--port", type=int, default=0)
parser.add_argument("--log", required=True)
args = parser.parse_args()
lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def record(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        entry = {
            "time": time.time(),
            "method": self.command,
            "path": self.path,
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "body": body.decode("utf-8", "replace"),
        }
        with lock, open(args.log, "a", encoding="utf-8") as f:
            f.write(json.dumps(entry) + "\n")
        reply = b"OK"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(reply)

    do_GET = do_POST = do_HEAD = do_PUT = record

    def log_message(self, *a):
        pass


server = ThreadingHTTPServer((args.host, args.port), Handler)
print(f"listening on {server.server_address[1]}", flush=True)
sys.stdout.close()
server.serve_forever()
