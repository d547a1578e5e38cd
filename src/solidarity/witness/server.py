"""The witness's HTTP interface (c2sp.org/tlog-witness): POST <prefix>/add-checkpoint.

A standard-library threading HTTP/1.1 server with keep-alive. Every request gets an answer
with a status code; none gets a traceback.
"""

from __future__ import annotations

import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from solidarity.witness.store import Answer, WitnessStore

MAX_BODY = 64 * 1024


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out as two writes; with Nagle's algorithm the second waits for the
    # client's delayed ACK (~40 ms) on a keep-alive connection.
    disable_nagle_algorithm = True
    server: WitnessServer

    def _send(self, answer: Answer) -> None:
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.content_type)
        self.send_header("Content-Length", str(len(answer.body)))
        self.end_headers()
        self.wfile.write(answer.body)

    def do_POST(self) -> None:
        if self.path.rstrip("/") != self.server.prefix + "/add-checkpoint":
            self._send(Answer.text(404, "not found"))
            return
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            self.close_connection = True
            self._send(Answer.text(411, "Content-Length required"))
            return
        if not 0 <= length <= MAX_BODY:
            self.close_connection = True
            self._send(Answer.text(413, f"request body above {MAX_BODY} bytes"))
            return
        body = self.rfile.read(length)
        if len(body) != length:
            self.close_connection = True
            return
        try:
            answer = self.server.store.add_checkpoint(body)
        except OSError as e:
            # The record could not be made durable: nothing was cosigned.
            sys.stderr.write(f"witness: cannot record the checkpoint: {e}\n")
            answer = Answer.text(503, "the witness cannot record checkpoints now")
        self._send(answer)

    def do_GET(self) -> None:
        if self.path.rstrip("/") in ("", self.server.prefix):
            self._send(Answer.text(200, self.server.store.signer.cosigner.vkey))
        else:
            self._send(Answer.text(404, "not found"))

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (base signature)
        if self.server.verbose:
            super().log_message(format, *args)


class WitnessServer(ThreadingHTTPServer):
    """Serves one WitnessStore; each connection in its own daemon thread."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self, store: WitnessStore, host: str, port: int, prefix: str = "", verbose: bool = False
    ) -> None:
        self.store = store
        self.prefix = prefix.rstrip("/")
        self.verbose = verbose
        super().__init__((host, port), _Handler)

    def serve_in_thread(self) -> threading.Thread:
        """Serve from a daemon thread (tests, benchmarks); stop with shutdown()."""
        t = threading.Thread(target=self.serve_forever, name="witness", daemon=True)
        t.start()
        return t
