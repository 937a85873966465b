"""Pages: `/recommendations` (analyst): a user's top-n with explanations, the cold-start
picks, the model versions with their numbers; activating a version is for `admin` only.

    GET  /recommendations?user=ID&n=10    the picks for ID (an unknown ID: cold start)
    POST /recommendations/activate        {version}: serve another version (admin)

The same `recommend_for` as the JSON API and the CLI answers, from a `Served` bundle that
follows the registry's ACTIVE file, so an activation here (or by the CLI) is what every
server serves next.
"""

from __future__ import annotations

import importlib.util
import threading
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from soundstage.accounts import Principal
from soundstage.errors import SoundstageError
from soundstage.web.studio.pages import Studio, redirect, render, studio
from soundstage.web.studio.session import PageDenied, page_for, read_form

if TYPE_CHECKING:
    from soundstage.recommend.service import Served

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
analyst = page_for("analyst")
MAX_SHOWN = 100
COLD_USER = ""  # no real user has an empty id: its answer is what a new user sees
KNOWN_CARD_KEYS = {"version", "model", "params", "users", "items", "interactions", "created"}
_lock = threading.Lock()


def served_of(request: Request, state: Studio) -> Served:
    """The app's served bundle for the studio (made on first use)."""
    from soundstage.recommend.events import EventLog
    from soundstage.recommend.registry import Registry
    from soundstage.recommend.service import Served

    with _lock:
        served: Served | None = getattr(request.app.state, "studio_recs", None)
        if served is None:
            accounts = request.app.state.gate.accounts
            events = EventLog(state.engine) if accounts is not None else None
            served = Served(Registry(state.settings.data_dir / "recommend"), events)
            request.app.state.studio_recs = served
    return served


def metrics_of(card: dict[str, Any]) -> list[str]:
    """A version's numbers beyond its sizes: fit time, validation scores, evaluation."""
    shown = []
    if "fit_s" in card:
        shown.append(f"fit {card['fit_s']} s")
    for target, tuned in (card.get("tuning") or {}).items():
        if isinstance(tuned, dict):
            shown.append(f"{target} {tuned.get('metric')} {tuned.get('validation')} (validation)")
    for key, value in card.items():
        if key in KNOWN_CARD_KEYS or key in ("fit_s", "tuning"):
            continue
        if isinstance(value, int | float) and not isinstance(value, bool):
            shown.append(f"{key} {value}")
        elif isinstance(value, dict) and key == "metrics":
            shown.extend(f"{k} {v}" for k, v in value.items())
    return shown


def _view(served: Served, user: str, n: int) -> dict[str, Any]:
    """Everything the page shows (blocking: reads the registry and maybe the event log)."""
    from soundstage.recommend.models import RecommendError
    from soundstage.recommend.service import recommend_for

    registry = served.registry
    active = registry.active()
    cards = [registry.card(v) for v in registry.versions()]
    view: dict[str, Any] = {"versions": cards, "active": active, "answer": None, "cold": None}
    view |= {"missing": "", "examples": [], "pick_error": ""}
    if not cards or active is None:
        view["missing"] = (
            "No recommender model is trained yet: an admin runs "
            "`soundstage recommend train` (then this page shows picks)."
            if not cards
            else "No model version is active: an admin activates one below."
        )
        return view
    try:
        bundle = served.get()
        if served.sync_due():
            served.sync()
        view["cold"] = recommend_for(bundle, COLD_USER, n)
        view["examples"] = bundle.user_ids[:5]
    except RecommendError as exc:
        view["missing"] = f"The active model cannot be served: {exc}"
        return view
    if user:
        try:
            view["answer"] = recommend_for(bundle, user, n)
        except RecommendError as exc:
            view["pick_error"] = str(exc)
    return view


def _count(value: str) -> int:
    try:
        return min(MAX_SHOWN, max(1, int(value)))
    except ValueError:
        return 10


async def _page(
    request: Request, state: Studio, user: str, n: int, status: int = 200, error: str = ""
) -> Response:
    if importlib.util.find_spec("scipy") is None:
        message = "Recommendations need the recommend extra: pip install 'soundstage[recommend]'"
        return render(
            request,
            "recommendations.html",
            status=503,
            missing=message,
            versions=[],
            active=None,
            cold=None,
            answer=None,
            user="",
            n=n,
        )
    try:
        view = await run_in_threadpool(_view, served_of(request, state), user, n)
    except SoundstageError as exc:
        raise PageDenied(503, str(exc)) from None
    return render(
        request,
        "recommendations.html",
        status=status,
        user=user,
        n=n,
        error=error,
        metrics_of=metrics_of,
        **view,
    )


@router.get("/recommendations")
async def recommendations(
    request: Request,
    user: str = "",
    n: str = "10",
    who: Principal = Depends(analyst),
    state: Studio = Depends(studio),
) -> Response:
    return await _page(request, state, user.strip()[:200], _count(n))


@router.post("/recommendations/activate")
async def activate(
    request: Request, who: Principal = Depends(analyst), state: Studio = Depends(studio)
) -> Response:
    """Serve another version: admin only (an analyst sees the versions, not the button)."""
    if not who.may(("admin",)):
        raise PageDenied(403, f"{who.name} may not activate a model version: it needs admin")
    form = await read_form(request)
    version = form.get("version", "")
    from soundstage.recommend.models import RecommendError

    try:
        await run_in_threadpool(served_of(request, state).switch, version)
    except RecommendError as exc:
        return await _page(request, state, "", 10, 404, str(exc))
    return redirect(request, "/recommendations")
