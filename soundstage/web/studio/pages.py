"""Rendering pages: one Jinja2 environment (autoescaped), the studio's state, error pages.

Every page goes out through `render`, which adds what each needs (the viewer, the CSRF
token, the navigation for their roles), sets the browser cookie when it is new, and sends
security headers: a Content-Security-Policy that allows this server only (no inline
script, no CDN), no framing, no sniffing. Static files (CSS, the small script) live in
`static/` and are served at /static.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import Engine

from soundstage.accounts import Principal
from soundstage.errors import SoundstageError
from soundstage.settings import Settings
from soundstage.web.studio.session import (
    BROWSER_COOKIE,
    LoginThrottle,
    PageDenied,
    SignInNeeded,
    browser_id,
    csrf_token,
    login_url,
)
from soundstage.web.studio.tasks import Tasks

__all__ = ["NAV", "STATIC", "Studio", "redirect", "render", "studio"]

HERE = Path(__file__).parent
STATIC = HERE / "static"
CSP = (
    "default-src 'self'; img-src 'self' data:; media-src 'self'; style-src 'self'; "
    "script-src 'self'; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; "
    "base-uri 'none'; object-src 'none'"
)
# (path, label, roles that see it); admin sees everything.
NAV = [
    ("/projects", "Projects", ("writer", "composer")),
    ("/review", "Review queue", ("reviewer",)),
    ("/recommendations", "Recommendations", ("analyst",)),
    ("/admin", "Admin", ("admin",)),
    ("/report", "Report", ()),
]

env = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else ""


def _timecode(seconds: float, fps: int = 24) -> str:
    frames = round(seconds * fps)
    s, f = divmod(frames, fps)
    m, s = divmod(s, 60)
    h, m = divmod(m, 60)
    return f"{h:02d}:{m:02d}:{s:02d}:{f:02d}"


env.filters["when"] = _when
env.filters["timecode"] = _timecode


@dataclass
class Studio:
    """What the pages share: settings, the store (opened on first use: a --no-auth server
    that only moderates needs no database), running tasks, the sign-in throttle."""

    settings: Settings
    open_store: Callable[[], Engine]
    tasks: Tasks
    throttle: LoginThrottle
    _engine: Engine | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def engine(self) -> Engine:
        with self._lock:
            if self._engine is None:
                try:
                    self._engine = self.open_store()
                except SoundstageError as exc:
                    raise PageDenied(503, exc.message) from None
            return self._engine


def studio(request: Request) -> Studio:
    """A dependency: the studio state of this app."""
    studio_state: Studio = request.app.state.studio
    return studio_state


def render(request: Request, template: str, status: int = 200, **context: Any) -> Response:
    who: Principal | None = getattr(request.state, "viewer", None)
    gate = getattr(request.app.state, "gate", None)
    nav = [(p, label) for p, label, roles in NAV if who is not None and who.may(roles)]
    html = env.get_template(template).render(
        request=request,
        viewer=who,
        signed_in=who is not None and gate is not None and gate.accounts is not None,
        csrf=csrf_token(request),
        nav=nav,
        path=request.url.path,
        **context,
    )
    response = HTMLResponse(html, status_code=status)
    return secured(request, response)


def secured(request: Request, response: Response) -> Response:
    """Security headers, and the browser cookie when this request made one."""
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers.setdefault("Cache-Control", "no-store")
    fresh = getattr(request.state, "new_browser_id", None)
    if fresh is not None:
        response.set_cookie(
            BROWSER_COOKIE,
            fresh,
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
            max_age=30 * 86400,
        )
    return response


def redirect(request: Request, url: str) -> Response:
    """303 See Other: the answer to every successful form post (post/redirect/get)."""
    browser_id(request)  # a form post always had the cookie; keep it set if not
    return secured(request, RedirectResponse(url, status_code=303))


async def sign_in_needed(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SignInNeeded)
    return redirect(request, login_url(exc.path))


async def page_denied(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, PageDenied)
    return render(request, "error.html", status=exc.status, message=exc.message)
