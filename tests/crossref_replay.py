"""A local stand-in for api.crossref.org that replays recorded responses (tests never reach the network).

Responses live in tests/fixtures/crossref/<doi with '/' replaced by '_'>.json, in Crossref's /works format.
A DOI without a recording answers 404, as Crossref does; the path /slow/... never answers (for Ctrl-C tests).
"""

from __future__ import annotations

import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

RECORDINGS = Path(__file__).parent / "fixtures" / "crossref"


def recording_path(doi: str) -> Path:
    return RECORDINGS / (doi.lower().replace("/", "_") + ".json")


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server's name)
        path = urllib.parse.unquote(self.path)
        if path.startswith("/slow/"):
            self.server.slow_request_seen.set()
            time.sleep(60)
        doi = path.split("/works/", 1)[-1]
        recording = recording_path(doi)
        if "/works/" not in path or not recording.is_file():
            self.send_response(404)
            self.end_headers()
            self.wfile.write(b"Resource not found.")
            return
        body = recording.read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class CrossrefReplay:
    """``with CrossrefReplay() as url:`` serves the recordings at ``url`` (http://127.0.0.1:<port>)."""

    def __enter__(self) -> str:
        """Start serving; the URL is returned (``self.slow_request_seen`` tells when /slow/ was asked)."""
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.server.daemon_threads = True
        self.server.slow_request_seen = threading.Event()  # set when a client waits on /slow/
        self.slow_request_seen = self.server.slow_request_seen
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self.server.server_port}"

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
