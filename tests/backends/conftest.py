"""A tiny scripted HTTP server on 127.0.0.1 for client tests: it answers each request with the
next `Reply` in its script and records what it received, so tests can count retries."""

from __future__ import annotations

import json
import socket
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


@dataclass
class Reply:
    status: int = 200
    json: Any = None
    text: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    # Server-sent events: each item is sent as `data: <item>\n\n` in its own chunk.
    events: list[str] | None = None
    # Drop the connection after the events instead of finishing the body.
    abort: bool = False
    # Seconds to wait before answering (interrupted when the test ends).
    delay: float = 0.0


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients that give up (timeouts, aborted streams) reset the connection; that is
        # what those tests do on purpose. Anything else is still printed.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: Any


class ScriptedServer:
    def __init__(self, script: list[Reply]) -> None:
        self.script = list(script)
        self.received: list[Received] = []
        self.stopping = threading.Event()
        self.httpd = _QuietServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def count(self) -> int:
        return len(self.received)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("content-length", 0)))
                body = json.loads(raw) if raw else None
                server.received.append(Received(self.path, dict(self.headers), body))
                reply = server.script.pop(0) if len(server.script) > 1 else server.script[0]
                if reply.delay and server.stopping.wait(reply.delay):
                    return
                if reply.events is not None:
                    self._send_events(reply)
                else:
                    self._send_body(reply)

            def _send_body(self, reply: Reply) -> None:
                data = json.dumps(reply.json) if reply.json is not None else reply.text
                payload = data.encode()
                self.send_response(reply.status)
                ctype = "application/json" if reply.json is not None else "text/html"
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(payload)))
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)

            def _send_events(self, reply: Reply) -> None:
                self.send_response(reply.status)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for event in reply.events or []:
                    data = f"data: {event}\n\n".encode()
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                    self.wfile.flush()
                if reply.abort:
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                self.wfile.write(b"0\r\n\r\n")

        return Handler

    def __enter__(self) -> ScriptedServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)


@pytest.fixture
def scripted() -> Iterator[Callable[..., ScriptedServer]]:
    """`scripted(Reply(...), ...)` starts a server that plays those replies (the last repeats)."""
    servers: list[ScriptedServer] = []

    def start(*script: Reply) -> ScriptedServer:
        server = ScriptedServer(list(script)).__enter__()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.__exit__()


@pytest.fixture
def reply() -> type[Reply]:
    return Reply


@pytest.fixture
def free_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port
