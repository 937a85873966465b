"""Commands: serve (the web app with its OpenAI-compatible API).

The backend is loaded and the socket bound before uvicorn starts, so a bad `--model` or a
busy port is a one-line error rather than a server that starts and then fails.
"""

from __future__ import annotations

import socket

import typer

from soundstage.backends import load_backend
from soundstage.cli._app import app, console, state
from soundstage.errors import SoundstageError


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on."),
    port: int = typer.Option(8000, "--port", help="Port to listen on (0 picks a free one)."),
    model: str | None = typer.Option(
        None, "--model", help="Backend spec to serve (default: the `model` setting)."
    ),
) -> None:
    """Serve the web app, including an OpenAI-compatible API under /v1."""
    import uvicorn

    from soundstage.web.app import create_app

    settings = state.settings()
    backend = load_backend(model or settings.model, settings)
    try:
        sock = _bind(host, port)
        bound_host, bound_port = sock.getsockname()[:2]
        shown = f"[{bound_host}]" if ":" in bound_host else bound_host
        console.print(
            f"serving [bold]{backend.model}[/] at http://{shown}:{bound_port}/v1", highlight=False
        )
        config = uvicorn.Config(create_app(settings, backend), log_level="info")
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        backend.close()


def _bind(host: str, port: int) -> socket.socket:
    try:
        info = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise SoundstageError(f"cannot resolve --host {host!r}: {exc.strerror}") from None
    family, kind, proto, _, address = info[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        raise SoundstageError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}",
            hint="pick another --port or stop the program using it",
        ) from None
    return sock
