"""Pages: `/` (home by role), `/login`, `/logout`, and a task's progress (`/tasks/{id}`)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response

from soundstage.accounts import AuthError, Principal
from soundstage.accounts.types import canonical_name
from soundstage.errors import SoundstageError
from soundstage.web.studio.pages import NAV, Studio, redirect, render, secured, studio
from soundstage.web.studio.session import (
    SESSION_COOKIE,
    SESSION_LABEL,
    PageDenied,
    login_target,
    page_for,
    read_form,
    viewer,
)

router = APIRouter(include_in_schema=False)


@router.get("/")
async def home(request: Request, who: Principal = Depends(viewer)) -> Response:
    """A signed-out visitor goes to /login (by `viewer`); others to their first page."""
    for path, _label, roles in NAV:
        if who.may(roles):
            return redirect(request, path)
    return render(request, "error.html", status=403, message=f"{who.name} has no studio role")


@router.get("/login")
async def login_page(request: Request, next: str = "/") -> Response:
    if request.app.state.gate.accounts is None:
        return redirect(request, login_target(next))
    return render(request, "login.html", next=login_target(next), error="", username="")


@router.post("/login")
async def login(request: Request, state: Studio = Depends(studio)) -> Response:
    gate = request.app.state.gate
    if gate.accounts is None:
        return redirect(request, "/")
    form = await read_form(request)
    name, password = form.get("username", ""), form.get("password", "")
    target = login_target(form.get("next", "/"))
    try:
        key = "name:" + canonical_name(name)
    except SoundstageError:
        key = "name:?"
    keys = (key, "ip:" + (request.client.host if request.client else "?"))
    wait = state.throttle.wait(*keys)
    if wait > 0:
        response = render(
            request,
            "login.html",
            status=429,
            next=target,
            username=name,
            error=f"too many failed sign-ins: try again in {int(wait) + 1} s",
        )
        response.headers["Retry-After"] = str(int(wait) + 1)
        return response
    try:
        who = await run_in_threadpool(gate.accounts.check_password, name, password)
        issued = await run_in_threadpool(gate.accounts.issue, who.name, days=1, label=SESSION_LABEL)
    except AuthError as exc:
        state.throttle.failed(*keys)
        return render(
            request, "login.html", status=401, next=target, username=name, error=exc.message
        )
    state.throttle.succeeded(key)
    response = redirect(request, target)
    response.set_cookie(
        SESSION_COOKIE,
        issued.token,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        max_age=86400,
    )
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    await read_form(request)
    gate = request.app.state.gate
    token = request.cookies.get(SESSION_COOKIE, "")
    if gate.accounts is not None and token:
        try:
            who = await run_in_threadpool(gate.principal, token)
            await run_in_threadpool(gate.accounts.revoke, who.name, who.token_id)
        except AuthError:
            pass  # already expired or revoked: signing out is done either way
    response = redirect(request, "/login")
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/tasks/{task_id}.json")
async def task_state(
    request: Request,
    task_id: str,
    who: Principal = Depends(page_for()),
    state: Studio = Depends(studio),
) -> Response:
    task = state.tasks.get(task_id, who.id)
    if task is None:
        return secured(request, JSONResponse({"detail": "no such task"}, status_code=404))
    return secured(request, JSONResponse(task.to_json()))


@router.get("/tasks/{task_id}")
async def task_page(
    request: Request,
    task_id: str,
    who: Principal = Depends(page_for()),
    state: Studio = Depends(studio),
) -> Response:
    task = state.tasks.get(task_id, who.id)
    if task is None:
        raise PageDenied(404, "no such task (the server may have restarted)")
    if task.state == "done":  # finished before the page was asked for: straight on
        return redirect(request, task.done_url)
    return render(request, "task.html", task=task)
