"""The web studio: where writers, composers, reviewers and analysts work with the AI.

Server-rendered pages (Jinja2, autoescaped) over the same library functions the CLI uses;
a little vanilla JavaScript (static/studio.js, no build step, no CDN) only polls long
tasks. Every page works without it.

    session.py   browser sessions on the accounts, CSRF, sign-in throttling, page roles
    pages.py     the template environment, `render`, security headers, error pages
    tasks.py     long steps in a background thread with progress
    signin.py    /, /login, /logout, /tasks/{id}
    room.py      /projects: the writers' room            (writer)
    score.py     /projects/{id}/score: the cue sheet     (composer)
    review.py    /review: the moderation queue           (reviewer)
    recs.py      /recommendations                        (analyst; activating: admin)
    admin.py     /admin: users, roles, tokens            (admin)

Pages are left out of /openapi.json: that document is the JSON API's contract.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine

from soundstage.settings import Settings
from soundstage.web.studio.pages import STATIC, Studio, page_denied, sign_in_needed
from soundstage.web.studio.session import LoginThrottle, PageDenied, SignInNeeded
from soundstage.web.studio.tasks import Tasks

__all__ = ["install_studio"]


def install_studio(app: FastAPI, settings: Settings, open_store: Callable[[], Engine]) -> FastAPI:
    """Add the studio's pages to `app` (which has `install_auth` and a backend runner)."""
    from soundstage.web.studio import admin, recs, review, room, score, signin

    app.state.studio = Studio(settings, open_store, Tasks(), LoginThrottle())
    app.add_exception_handler(SignInNeeded, sign_in_needed)
    app.add_exception_handler(PageDenied, page_denied)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for module in (signin, room, score, review, recs, admin):
        app.include_router(module.router)
    return app
