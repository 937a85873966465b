"""Pages: `/admin` (admin): users, roles, tokens.

    GET  /admin                                   users with roles, state, live tokens; add one
    POST /admin/users                             {name, role_<role>..., password}
    GET  /admin/users/{name}                      one user: roles, disable, tokens
    POST /admin/users/{name}/roles                {role_<role>...}
    POST /admin/users/{name}/disabled             {disabled: 1 | 0}
    POST /admin/users/{name}/tokens               {label, days}: a new token, shown once
    POST /admin/users/{name}/tokens/{id}/revoke

The same `Accounts` as `soundstage users ...`. A new token (and the first token of a new
user) is shown once: the post that made it redirects to the page with a one-time key, and
the first GET with that key, from the same browser within a minute, shows it; the store
keeps only its hash, this process only until it is shown. Studio sessions are tokens too
(label "studio session"): revoking one signs that browser out. An admin cannot disable
themselves or drop their own admin role here (that locks the door from inside); another
admin or the CLI can.
"""

from __future__ import annotations

import secrets
import threading
import time
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from soundstage.accounts import Accounts, Principal
from soundstage.accounts.service import DEFAULT_TOKEN_DAYS
from soundstage.accounts.types import ROLE_HELP, ROLES, AccountError, IssuedToken
from soundstage.errors import SoundstageError
from soundstage.store.db import translate_errors
from soundstage.store.schema import User
from soundstage.web.studio.pages import redirect, render
from soundstage.web.studio.session import PageDenied, browser_id, page_for, read_form

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
admin = page_for("admin")
MAX_DAYS = 3650


class ShownOnce:
    """New tokens waiting for the one page view that shows them (per process, in memory)."""

    def __init__(self, ttl: float = 60.0) -> None:
        self.ttl = ttl
        self._waiting: dict[str, tuple[float, str, IssuedToken]] = {}
        self._lock = threading.Lock()

    def put(self, browser: str, issued: IssuedToken) -> str:
        key = secrets.token_urlsafe(16)
        now = time.monotonic()
        with self._lock:
            for old in [k for k, (t, _, _) in self._waiting.items() if now - t > self.ttl]:
                del self._waiting[old]
            self._waiting[key] = (now, browser, issued)
        return key

    def take(self, key: str, browser: str) -> IssuedToken | None:
        with self._lock:
            found = self._waiting.pop(key, None) if key else None
        if found is None or found[1] != browser or time.monotonic() - found[0] > self.ttl:
            return None
        return found[2]


shown_once = ShownOnce()


def accounts_of(request: Request) -> Accounts | None:
    accounts: Accounts | None = request.app.state.gate.accounts
    return accounts


def _accounts(request: Request) -> Accounts:
    accounts = accounts_of(request)
    if accounts is None:
        raise PageDenied(404, "accounts are off: this server runs with --no-auth")
    return accounts


def status_of(exc: SoundstageError) -> int:
    """A refused account change: no such user 404, a name taken 409, else the form 400;
    anything but an AccountError is the store (503)."""
    if not isinstance(exc, AccountError):
        return 503
    if exc.message.startswith("no user"):
        return 404
    return 409 if "already exists" in exc.message else 400


def user_url(name: str) -> str:
    return "/admin/users/" + quote(name, safe="@")


def roles_in(form: dict[str, str]) -> list[str]:
    return [role for role in ROLES if form.get(f"role_{role}")]


def _is_disabled(accounts: Accounts, name: str) -> bool:
    with translate_errors(accounts.engine, "cannot read users from"), Session(accounts.engine) as s:
        return bool(s.scalar(select(User.disabled).where(User.name == name)))


# --- the users list -------------------------------------------------------------------------


async def _users_page(
    request: Request,
    status: int = 200,
    *,
    error: str = "",
    form: dict[str, str] | None = None,
    issued: IssuedToken | None = None,
) -> Response:
    accounts = accounts_of(request)
    users: list[tuple[Principal, bool, int]] = []
    if accounts is not None:
        try:
            users = await run_in_threadpool(accounts.users)
        except SoundstageError as exc:
            raise PageDenied(503, str(exc)) from None
    return render(
        request,
        "admin.html",
        status=status,
        accounts_on=accounts is not None,
        users=users,
        roles=ROLES,
        role_help=ROLE_HELP,
        error=error,
        form=form or {},
        checked=roles_in(form or {}),
        issued=issued,
    )


@router.get("/admin")
async def users_page(
    request: Request, who: Principal = Depends(admin), token: str = ""
) -> Response:
    return await _users_page(request, issued=shown_once.take(token, browser_id(request)))


@router.post("/admin/users")
async def add_user(request: Request, who: Principal = Depends(admin)) -> Response:
    accounts = _accounts(request)
    form = await read_form(request)
    password = form.get("password", "")

    def add() -> IssuedToken:
        return accounts.add(
            form.get("name", ""), roles_in(form), password=password or None, label="first token"
        )

    try:
        issued = await run_in_threadpool(add)
    except SoundstageError as exc:
        form.pop("password", None)
        return await _users_page(request, status_of(exc), error=str(exc), form=form)
    return redirect(request, f"/admin?token={shown_once.put(browser_id(request), issued)}")


# --- one user ---------------------------------------------------------------------------------


def _user_view(accounts: Accounts, name: str) -> dict[str, Any]:
    user = accounts.get(name)
    tokens = accounts.tokens(user.name)
    return {
        "user": user,
        "disabled": _is_disabled(accounts, user.name),
        "tokens": sorted(tokens, key=lambda t: t.created_at, reverse=True),
    }


async def _user_page(
    request: Request,
    name: str,
    status: int = 200,
    *,
    error: str = "",
    where: str = "",
    issued: IssuedToken | None = None,
) -> Response:
    accounts = _accounts(request)
    try:
        view = await run_in_threadpool(_user_view, accounts, name)
    except SoundstageError as exc:
        raise PageDenied(status_of(exc), str(exc)) from None
    return render(
        request,
        "admin_user.html",
        status=status,
        roles=ROLES,
        role_help=ROLE_HELP,
        error=error,
        where=where,
        issued=issued,
        default_days=DEFAULT_TOKEN_DAYS,
        **view,
    )


@router.get("/admin/users/{name}")
async def user_page(
    request: Request, name: str, who: Principal = Depends(admin), token: str = ""
) -> Response:
    issued = shown_once.take(token, browser_id(request))
    return await _user_page(request, name, issued=issued)


@router.post("/admin/users/{name}/roles")
async def set_roles(request: Request, name: str, who: Principal = Depends(admin)) -> Response:
    accounts = _accounts(request)
    roles = roles_in(await read_form(request))

    def change() -> Principal:
        if accounts.get(name).name == who.name and "admin" not in roles:
            raise AccountError("you cannot drop your own admin role here", hint="another admin can")
        return accounts.set_roles(name, roles)

    try:
        user = await run_in_threadpool(change)
    except SoundstageError as exc:
        return await _user_page(request, name, status_of(exc), error=str(exc), where="roles")
    return redirect(request, user_url(user.name))


@router.post("/admin/users/{name}/disabled")
async def set_disabled(request: Request, name: str, who: Principal = Depends(admin)) -> Response:
    accounts = _accounts(request)
    disabled = (await read_form(request)).get("disabled") == "1"

    def change() -> str:
        user = accounts.get(name)
        if disabled and user.name == who.name:
            raise AccountError("you cannot disable your own account", hint="another admin can")
        accounts.set_disabled(user.name, disabled)
        return user.name

    try:
        canonical = await run_in_threadpool(change)
    except SoundstageError as exc:
        return await _user_page(request, name, status_of(exc), error=str(exc), where="state")
    return redirect(request, user_url(canonical))


def _days(value: str) -> int | None:
    """Token lifetime from the form: blank is no expiry; else 1..MAX_DAYS days."""
    value = value.strip()
    if not value:
        return None
    try:
        days = int(value)
    except ValueError:
        raise AccountError(f"days must be a whole number, not {value!r}") from None
    if not 1 <= days <= MAX_DAYS:
        raise AccountError(f"a token lives 1 to {MAX_DAYS} days, not {days}")
    return days


@router.post("/admin/users/{name}/tokens")
async def issue_token(request: Request, name: str, who: Principal = Depends(admin)) -> Response:
    accounts = _accounts(request)
    form = await read_form(request)
    label = form.get("label", "").strip()
    try:
        days = _days(form.get("days", ""))
        issued = await run_in_threadpool(lambda: accounts.issue(name, days=days, label=label))
    except SoundstageError as exc:
        return await _user_page(request, name, status_of(exc), error=str(exc), where="tokens")
    key = shown_once.put(browser_id(request), issued)
    return redirect(request, f"{user_url(issued.user)}?token={key}")


@router.post("/admin/users/{name}/tokens/{token_id}/revoke")
async def revoke_token(
    request: Request, name: str, token_id: str, who: Principal = Depends(admin)
) -> Response:
    accounts = _accounts(request)
    await read_form(request)
    try:
        await run_in_threadpool(accounts.revoke, name, token_id)
    except SoundstageError as exc:
        return await _user_page(request, name, status_of(exc), error=str(exc), where="tokens")
    return redirect(request, user_url(name))
