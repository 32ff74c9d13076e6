#!/usr/bin/env python3
"""A stand-in for the AI provider's integration admin API, for the demo sandbox only.

It serves GET and PUT /integrations/ai-provider (bearer token required) and accepts incident
notifications at POST /hooks/incident, on 127.0.0.1 only.
"""
import argparse
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

state = {"name": "ai-provider", "enabled": True, "model": "contacts-search-v2"}
lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    token = ""

    def _reply(self, status, body):
        data = json.dumps(body, separators=(",", ":")).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _authorized(self):
        if self.headers.get("Authorization") == "Bearer " + self.token:
            return True
        self._reply(401, {"error": "missing or wrong bearer token"})
        return False

    def do_GET(self):
        if self.path != "/integrations/ai-provider":
            return self._reply(404, {"error": "not found"})
        if self._authorized():
            with lock:
                self._reply(200, state)

    def do_PUT(self):
        if self.path != "/integrations/ai-provider":
            return self._reply(404, {"error": "not found"})
        if not self._authorized():
            return
        length = int(self.headers.get("Content-Length", "0"))
        try:
            change = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            return self._reply(400, {"error": "body is not JSON"})
        with lock:
            state.update({k: v for k, v in change.items() if k in ("enabled", "model")})
            self._reply(200, state)

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        self.rfile.read(length)
        if self.path == "/hooks/incident":
            return self._reply(200, {"ok": True})
        self._reply(404, {"error": "not found"})

    def log_message(self, *args):
        pass


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--token", required=True)
    args = parser.parse_args()
    Handler.token = args.token
    ThreadingHTTPServer(("127.0.0.1", args.port), Handler).serve_forever()


if __name__ == "__main__":
    main()
