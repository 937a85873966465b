"""Who is calling: `Authorization: Bearer <token>` → a `Principal`, and a role per route.

    @router.post("/queue/claim")
    def claim(user: Principal = Depends(require("reviewer"))) -> ...

Every route but `/healthz` (and the OpenAPI document) declares `require(...)`; a test walks
the app's routes and fails on one that answers without a token. Identities come from the
token only, never from a request body: the reviewer of a decision is the caller.

`install_auth(app, accounts)` puts the accounts on the app; `accounts=None` is the local,
single-user mode (`serve --no-auth`, loopback only): every caller is the operator `local`
with every role. An app without `install_auth` answers 500: misconfigured, never open.

Tokens are checked against the store at most every `CACHE_SECONDS` per token, so a revoked
or disabled account is locked out within that time, and a busy route does not pay a
database round trip per request.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from soundstage.accounts import ROLES, Accounts, AuthError, Principal
from soundstage.errors import SoundstageError

__all__ = [
    "DEFAULT_PER_MINUTE",
    "LOCAL",
    "allowed_hosts",
    "caller",
    "install_auth",
    "install_host_check",
    "is_loopback",
    "is_wildcard",
    "require",
]

LOCAL = Principal("local", "local", ROLES)
CACHE_SECONDS = 5.0
DEFAULT_PER_MINUTE = 600
CHALLENGE = {"WWW-Authenticate": "Bearer"}

_bearer = HTTPBearer(auto_error=False, description="an API token from `soundstage users add`")


class Gate:
    """The app's accounts (None: --no-auth), a short cache of checked tokens, and a request
    budget per account: a token bucket of `per_minute` requests a minute with bursts of a
    tenth of that (at least 10), so one account cannot starve the others (0: no limit).
    Per server process: with N workers an account gets up to N times the budget."""

    def __init__(self, accounts: Accounts | None, per_minute: int = DEFAULT_PER_MINUTE) -> None:
        self.accounts = accounts
        self.per_minute = per_minute
        self._seen: dict[str, tuple[float, Principal]] = {}
        self._buckets: dict[str, tuple[float, float]] = {}  # account → (tokens, when)
        self._lock = threading.Lock()

    def wait(self, who: Principal) -> float:
        """0 when `who` may make a request now (and it is counted), else seconds to wait."""
        if self.accounts is None or self.per_minute <= 0:
            return 0.0
        rate, burst = self.per_minute / 60.0, max(10.0, self.per_minute / 10.0)
        now = time.monotonic()
        with self._lock:
            tokens, then = self._buckets.get(who.id, (burst, now))
            tokens = min(burst, tokens + (now - then) * rate)
            if tokens < 1.0:
                self._buckets[who.id] = (tokens, now)
                return (1.0 - tokens) / rate
            self._buckets[who.id] = (tokens - 1.0, now)
            return 0.0

    def cached(self, token: str) -> Principal | None:
        """The principal checked for `token` in the last CACHE_SECONDS, if any."""
        with self._lock:
            hit = self._seen.get(_key(token))
        if hit is not None and time.monotonic() - hit[0] < CACHE_SECONDS:
            return hit[1]
        return None

    def principal(self, token: str) -> Principal:
        """Check `token` against the store (blocking: call it off the event loop)."""
        if self.accounts is None:
            return LOCAL
        key, now = _key(token), time.monotonic()
        found = self.accounts.authenticate(token)
        with self._lock:
            if len(self._seen) > 10_000:
                self._seen.clear()
            self._seen[key] = (now, found)
        return found


def _key(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def install_auth(
    app: FastAPI, accounts: Accounts | None, per_minute: int = DEFAULT_PER_MINUTE
) -> FastAPI:
    """Authenticate every route of `app` against `accounts` (None: local, no auth), each
    account limited to `per_minute` requests a minute (0: unlimited)."""
    app.state.gate = Gate(accounts, per_minute)
    return app


async def caller(
    request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)
) -> Principal:
    """The signed-in account. Async so a cached token costs no thread hop (the moderation
    hot path answers on the event loop); a token not seen lately is checked in a thread."""
    gate: Gate | None = getattr(request.app.state, "gate", None)
    if gate is None:
        raise HTTPException(500, "this app was built without install_auth(): refusing to serve")
    if gate.accounts is None:
        return LOCAL
    if credentials is None:
        raise HTTPException(401, "sign in: send Authorization: Bearer <token>", headers=CHALLENGE)
    token = credentials.credentials
    hit = gate.cached(token)
    if hit is not None:
        return hit
    try:
        return await run_in_threadpool(gate.principal, token)
    except AuthError as exc:
        raise HTTPException(401, exc.message, headers=CHALLENGE) from None
    except SoundstageError as exc:  # the store is down: not the caller's fault, not a 500
        raise HTTPException(503, exc.message) from None


def require(*roles: str) -> Callable[..., Coroutine[Any, Any, Principal]]:
    """A dependency: the caller, when they hold one of `roles` (none given: any account)."""
    unknown = [r for r in roles if r not in ROLES]
    if unknown:
        raise ValueError(f"unknown role {unknown[0]!r}")

    async def check(request: Request, user: Principal = Depends(caller)) -> Principal:
        if not user.may(roles):
            need = " or ".join(roles)
            raise HTTPException(403, f"{user.name} may not do this: it needs the {need} role")
        wait = request.app.state.gate.wait(user)
        if wait > 0:
            raise HTTPException(
                429,
                f"{user.name} is over {request.app.state.gate.per_minute} requests a minute",
                headers={"Retry-After": str(max(1, math.ceil(wait)))},
            )
        return user

    check.__name__ = f"require_{'_'.join(roles) or 'account'}"
    return check


def is_loopback(host: str) -> bool:
    """Whether `host` (an interface to bind) is reachable from this machine only."""
    import ipaddress

    if host.strip("[]").lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def is_wildcard(host: str) -> bool:
    return host.strip("[]") in ("0.0.0.0", "::", "")


def allowed_hosts(host: str, extra: list[str]) -> list[str]:
    """Host headers a server bound to `host` answers (DNS rebinding: a page on evil.example
    whose name resolves to 127.0.0.1 sends `Host: evil.example`, and is refused). Loopback
    serves its usual names; a named interface its own name; `--allowed-host` adds more (each
    may be a comma-separated list)."""
    names = [h.strip().lower() for x in extra for h in x.split(",") if h.strip()]
    if is_loopback(host) or is_wildcard(host):  # every interface includes loopback
        names += ["localhost", "127.0.0.1", "[::1]", "::1"]
    else:
        names.append(host.strip().lower())
    return list(dict.fromkeys(names))


def install_host_check(app: FastAPI, hosts: list[str]) -> FastAPI:
    from starlette.middleware.trustedhost import TrustedHostMiddleware

    app.add_middleware(TrustedHostMiddleware, allowed_hosts=hosts)
    return app
