"""Who is looking at a page: browser sessions on the accounts of issue #13, CSRF, throttling.

A browser session *is* an API token (label "studio session", one day), issued at sign-in,
kept in the `sst_session` cookie (HttpOnly, SameSite=Lax, Secure behind TLS) and revoked
at sign-out; an admin sees and revokes sessions with the account's other tokens, and
disabling an account ends its sessions within the gate's cache time (5 s).

Every form carries a CSRF token: the SHA-256 of a random `sst_browser` cookie that every
page sets, so a page on another site can neither read it nor forge a form that passes
(SameSite=Lax already keeps the session cookie off cross-site POSTs; this is the second
lock). The sign-in form has one too (login CSRF).

Failed sign-ins are throttled per account name and per client address: 5 failures in
5 minutes and the next attempt is 429 with Retry-After, whatever the password.

With `serve --no-auth` (loopback only) every page is the operator `local` with every role,
and /login sends straight to /projects.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import parse_qsl, quote

from fastapi import Request
from fastapi.concurrency import run_in_threadpool

from soundstage.accounts import AuthError, Principal
from soundstage.errors import SoundstageError
from soundstage.textcheck import check_text
from soundstage.web.auth import LOCAL

__all__ = [
    "BROWSER_COOKIE",
    "SESSION_COOKIE",
    "FormError",
    "LoginThrottle",
    "PageDenied",
    "SignInNeeded",
    "browser_id",
    "csrf_token",
    "page_for",
    "read_form",
    "viewer",
]

SESSION_COOKIE = "sst_session"
BROWSER_COOKIE = "sst_browser"
SESSION_LABEL = "studio session"
MAX_FIELD = 1 << 20  # texts stored from forms: 1 MiB, as on every JSON route


class SignInNeeded(Exception):
    """No valid session: the page answers with a redirect to /login?next=PATH."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.path = path


class PageDenied(Exception):
    """A page or form the viewer may not see or use (403), or that does not exist (404)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class FormError(PageDenied):
    """A form that cannot be read: no or wrong CSRF token, bad encoding (400)."""

    def __init__(self, message: str) -> None:
        super().__init__(400, message)


def browser_id(request: Request) -> str:
    """This browser's random id (the `sst_browser` cookie); a new one is made, and set by
    `pages.render`, when the browser has none."""
    value = request.cookies.get(BROWSER_COOKIE, "")
    if len(value) >= 32 and value.isascii():
        return value
    fresh: str | None = getattr(request.state, "new_browser_id", None)
    if fresh is None:
        fresh = secrets.token_urlsafe(32)
        request.state.new_browser_id = fresh
    return fresh


def csrf_token(request: Request) -> str:
    digest = hashlib.sha256(b"soundstage-csrf:" + browser_id(request).encode()).hexdigest()
    return digest[:40]


async def read_form(request: Request) -> dict[str, str]:
    """The fields of an urlencoded form, after its CSRF token is checked; every value is
    checked like a JSON body's text (no NUL, no lone surrogate, ≤ 1 MiB), naming the field."""
    body = await request.body()
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, errors="strict")
    except (UnicodeDecodeError, ValueError):
        raise FormError("the form is not UTF-8 urlencoded text") from None
    fields: dict[str, str] = {}
    for key, value in pairs:
        if len(value.encode("utf-8", "surrogatepass")) > MAX_FIELD:
            raise FormError(f"field {key!r} is over 1 MiB")
        try:
            fields[key] = check_text(value, key)
        except SoundstageError as exc:
            raise FormError(exc.message) from None
    sent = fields.pop("csrf", "")
    if not request.cookies.get(BROWSER_COOKIE) or not hmac.compare_digest(
        sent.encode(), csrf_token(request).encode()
    ):
        raise FormError("this form has expired or came from another site: reload the page")
    return fields


async def viewer(request: Request) -> Principal:
    """The signed-in account behind the session cookie; SignInNeeded without one."""
    gate = request.app.state.gate
    if gate.accounts is None:
        request.state.viewer = LOCAL
        return LOCAL
    token = request.cookies.get(SESSION_COOKIE, "")
    where = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if not token:
        raise SignInNeeded(where)
    who = gate.cached(token)
    if who is None:
        try:
            who = await run_in_threadpool(gate.principal, token)
        except AuthError:
            raise SignInNeeded(where) from None
        except SoundstageError as exc:
            raise PageDenied(503, exc.message) from None
    request.state.viewer = who
    return who


def page_for(*roles: str) -> Callable[..., Coroutine[Any, Any, Principal]]:
    """A page dependency: the viewer when they hold one of `roles` (none: any account),
    else 403. Checked on the server for every page and every form post."""

    async def check(request: Request) -> Principal:
        who = await viewer(request)
        if not who.may(roles):
            raise PageDenied(
                403, f"{who.name} may not open this page: it needs the {' or '.join(roles)} role"
            )
        return who

    check.__name__ = f"page_for_{'_'.join(roles) or 'account'}"
    return check


def login_target(next_path: str) -> str:
    """Where to go after sign-in: a path on this site only (no //host, no scheme)."""
    if not next_path.startswith("/") or next_path.startswith("//") or "\\" in next_path:
        return "/"
    return next_path


def login_url(path: str) -> str:
    return "/login" if path in ("", "/") else f"/login?next={quote(path, safe='/')}"


class LoginThrottle:
    """Failed sign-ins per account name (`limit` within `window` seconds) and per client
    address (`address_limit`: an office shares one) before further attempts wait. Per
    process: N server workers allow N times as many."""

    def __init__(self, limit: int = 5, address_limit: int = 30, window: float = 300.0) -> None:
        self.limit, self.address_limit, self.window = limit, address_limit, window
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def wait(self, *keys: str) -> float:
        """Seconds until `keys` may try again (0: now)."""
        now = time.monotonic()
        with self._lock:
            waits = []
            for key in keys:
                seen = self._failures.get(key)
                while seen and now - seen[0] > self.window:
                    seen.popleft()
                limit = self.address_limit if key.startswith("ip:") else self.limit
                if seen and len(seen) >= limit:
                    waits.append(self.window - (now - seen[0]))
            return max(waits, default=0.0)

    def failed(self, *keys: str) -> None:
        now = time.monotonic()
        with self._lock:
            if len(self._failures) > 100_000:
                self._failures.clear()
            for key in keys:
                size = self.address_limit if key.startswith("ip:") else self.limit
                self._failures.setdefault(key, deque(maxlen=size)).append(now)

    def succeeded(self, name_key: str) -> None:
        with self._lock:
            self._failures.pop(name_key, None)
