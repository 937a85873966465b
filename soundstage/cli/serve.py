"""Commands: serve (the web app with its OpenAI-compatible API).

The backend is loaded and the socket bound before uvicorn starts, so a bad `--model` or a
busy port is a one-line error rather than a server that starts and then fails.

Every route but /healthz needs an API token (`soundstage users add`). `--no-auth` serves
without sign-in, as the operator `local` with every role, and only on a loopback address;
binding anything else without auth is refused. Host headers are checked against `--host`
and `--allowed-host` (DNS rebinding).
"""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING

import typer

from soundstage.backends import load_backend
from soundstage.cli._app import app, console, console_err, state
from soundstage.errors import SoundstageError
from soundstage.settings import Settings, ensure_data_dir

if TYPE_CHECKING:
    from soundstage.accounts import Accounts


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on."),
    port: int = typer.Option(8000, "--port", help="Port to listen on (0 picks a free one)."),
    model: str | None = typer.Option(
        None, "--model", help="Backend spec to serve (default: the `model` setting)."
    ),
    no_auth: bool = typer.Option(
        False, "--no-auth", help="Serve without sign-in (loopback addresses only)."
    ),
    allowed_host: list[str] = typer.Option(
        [], "--allowed-host", help="A Host header to answer besides --host's ('*' for any)."
    ),
) -> None:
    """Serve the web app, including an OpenAI-compatible API under /v1."""
    import uvicorn

    from soundstage.web.app import create_app
    from soundstage.web.auth import allowed_hosts, install_host_check

    settings = state.settings()
    accounts = server_accounts(settings, host, no_auth, allowed_host)
    backend = load_backend(model or settings.model, settings)
    try:
        sock = bind(host, port)
        bound_host, bound_port = sock.getsockname()[:2]
        shown = f"[{bound_host}]" if ":" in bound_host else bound_host
        console.print(
            f"serving [bold]{backend.model}[/] at http://{shown}:{bound_port}/v1", highlight=False
        )
        announce_auth(accounts)
        app = create_app(settings, backend, accounts=accounts)
        install_host_check(app, allowed_hosts(host, allowed_host))
        config = uvicorn.Config(app, log_level="info")
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        backend.close()


def server_accounts(
    settings: Settings, host: str, no_auth: bool, allowed_host: list[str]
) -> Accounts | None:
    """The accounts a server checks tokens against, or None for --no-auth; refuses what
    would serve strangers without sign-in. Prints nothing (see `announce_auth`)."""
    from soundstage.accounts import Accounts
    from soundstage.store.db import open_store
    from soundstage.web.auth import is_loopback, is_wildcard

    if is_wildcard(host) and not [h for x in allowed_host for h in x.split(",") if h.strip()]:
        raise SoundstageError(
            f"--host {host} listens on every interface: name the host clients use",
            hint="add --allowed-host studio.example.com (or --allowed-host '*' to accept any)",
        )
    if no_auth:
        if not is_loopback(host):
            raise SoundstageError(
                f"--no-auth serves anyone who can reach {host}: refused",
                hint="use --no-auth only with --host 127.0.0.1, or create accounts: "
                "soundstage users add NAME --role admin",
            )
        return None
    if not settings.database_url:
        ensure_data_dir(settings)
    return Accounts(open_store(settings))


def announce_auth(accounts: Accounts | None) -> None:
    """Say on stderr, as the server starts, who it will answer."""
    if accounts is None:
        console_err.print(
            "[yellow]no sign-in (--no-auth)[/]: every caller is 'local' with every role; "
            "this machine only",
            highlight=False,
        )
    elif not accounts.exist():
        console_err.print(
            "[yellow]no accounts yet[/]: every request but /healthz will be refused; "
            "create one: soundstage users add NAME --role admin",
            highlight=False,
        )


def bind(host: str, port: int) -> socket.socket:
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
