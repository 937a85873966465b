"""Model registry, the answer service, the HTTP API on a real server, and the CLI commands."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import scipy.sparse as sp
from cli_runner import run_soundstage
from servers import running
from sqlalchemy import Engine, select

from soundstage.recommend.data import Item
from soundstage.recommend.models import RecommendError, make
from soundstage.recommend.registry import Registry
from soundstage.recommend.service import recommend_for
from soundstage.store.schema import RecInteraction
from soundstage.web.recommend_api import create_recommend_app

GENRES = ("Sci-Fi", "Comedy")


def catalog() -> list[Item]:
    """12 titles: 0-5 sci-fi movies, 6-9 comedy movies, 10-11 comedy shows."""
    items = []
    for i in range(12):
        genre = GENRES[0] if i < 6 else GENRES[1]
        kind = "show" if i >= 10 else "movie"
        items.append(Item(id=f"i{i}", title=f"{genre} title {i}", kind=kind, genres=(genre,)))
    return items


def history(n_users: int = 40, seed: int = 0) -> sp.csr_matrix:
    """Half the users watch sci-fi (0-5), half comedy (6-11); item 0 and 6 are hits."""
    rng = np.random.default_rng(seed)
    M = sp.lil_matrix((n_users, 12))
    for u in range(n_users):
        base = 0 if u < n_users // 2 else 6
        M[u, base] = 1.0
        for i in rng.choice(np.arange(1, 6), size=2, replace=False):
            M[u, base + i] = 1.0
    return sp.csr_matrix(M)


@pytest.fixture
def registry(tmp_path: Path) -> Registry:
    reg = Registry(tmp_path / "recommend")
    X = history()
    users = [f"u{i}" for i in range(X.shape[0])]
    items = [it.id for it in catalog()]
    reg.publish(make("ease", lam=1.0).fit(X), X, users, items, catalog(), version="v1")
    reg.publish(make("popular").fit(X), X, users, items, catalog(), version="v2", activate=False)
    return reg


def test_publish_writes_a_complete_version_and_activates_it(registry: Registry) -> None:
    assert registry.versions() == ["v1", "v2"] and registry.active() == "v1"
    card = registry.card("v1")
    assert card["model"] == "ease" and card["users"] == 40 and card["items"] == 12
    assert not [p for p in registry.models.iterdir() if p.name.startswith(".")]
    with pytest.raises(RecommendError, match="already exists"):
        registry.publish(make("popular").fit(history()), history(), [], [], version="v1")
    with pytest.raises(RecommendError, match="unknown model version 'v9'"):
        registry.activate("v9")
    assert registry.active() == "v1"


def test_a_failed_publish_leaves_nothing_behind(registry: Registry) -> None:
    X = history()
    with pytest.raises(RecommendError, match="history is"):
        registry.publish(make("popular").fit(X), X, ["only-one"], ["i0"], version="v3")
    assert registry.versions() == ["v1", "v2"]
    assert sorted(p.name for p in registry.models.iterdir()) == ["v1", "v2"]


def test_known_user_gets_own_taste_with_explanations(registry: Registry) -> None:
    bundle = registry.load()
    answer = recommend_for(bundle, "u0", 3)
    seen = {bundle.item_ids[i] for i in bundle.history[0].indices}
    assert not answer.cold_start and len(answer.items) == 3
    for pick in answer.items:
        assert pick.item_id not in seen and pick.item_id in {f"i{i}" for i in range(6)}
        assert pick.because and pick.because[0].item_id in seen
        assert pick.explanation == f"Because you watched {pick.because[0].title}"
    scores = [p.score for p in answer.items]
    assert scores == sorted(scores, reverse=True)
    with_seen = recommend_for(bundle, "u0", 12, exclude_seen=False)
    assert seen <= {p.item_id for p in with_seen.items}


def test_kind_filter_diversity_and_bounds(registry: Registry) -> None:
    bundle = registry.load()
    shows = recommend_for(bundle, "u39", 5, kind="show")
    assert {p.kind for p in shows.items} == {"show"}
    with pytest.raises(RecommendError, match="no items of kind 'song'"):
        recommend_for(bundle, "u0", 5, kind="song")
    for bad in (0, -1, 1001):
        with pytest.raises(RecommendError, match="n must be between 1 and 1000"):
            recommend_for(bundle, "u0", bad)
    with pytest.raises(RecommendError, match="diversity"):
        recommend_for(bundle, "u0", 5, diversity=1.5)
    plain = recommend_for(bundle, "u0", 6, exclude_seen=False)
    mixed = recommend_for(bundle, "u0", 6, exclude_seen=False, diversity=1.0)
    assert {p.item_id for p in mixed.items} != {p.item_id for p in plain.items}
    assert any(int(p.item_id[1:]) >= 6 for p in mixed.items)  # diversity reaches comedy


def test_unknown_user_gets_popular_and_onboarding_picks(registry: Registry) -> None:
    answer = recommend_for(registry.load(), "someone-new", 4)
    assert answer.cold_start
    reasons = [p.reason for p in answer.items]
    # Two genres → two onboarding picks; when they run out, popular titles fill the list.
    assert reasons == ["popular", "onboarding", "popular", "popular"]
    # Each genre's most popular title (i0 and i6 are in every history of their half).
    assert {answer.items[0].item_id, answer.items[1].item_id} == {"i0", "i6"}
    assert len({p.item_id for p in answer.items}) == 4


def test_http_api_answers_and_switches_version_without_restart(registry: Registry) -> None:
    with running(create_recommend_app(registry, None)) as url, httpx.Client(base_url=url) as http:
        first = http.get("/recommendations/u0", params={"n": 3})
        assert first.status_code == 200
        body = first.json()
        assert body["model"] == "ease" and body["version"] == "v1" and len(body["items"]) == 3
        assert body["items"][0]["explanation"].startswith("Because you watched")
        assert http.get("/recommendations/u0", params={"n": 0}).status_code == 422
        assert http.get("/recommendations/u0", params={"diversity": 2}).status_code == 422
        calibrated = http.get("/recommendations/u0", params={"calibration": 0.9, "n": 3})
        assert calibrated.status_code == 200 and len(calibrated.json()["items"]) == 3
        both = http.get("/recommendations/u0", params={"calibration": 0.5, "diversity": 0.5})
        assert both.status_code == 400 and "choose one" in both.text
        assert http.get("/recommendations/u0", params={"kind": "song"}).status_code == 400
        cold = http.get("/recommendations/ghost").json()
        assert cold["cold_start"] and cold["items"][0]["reason"] == "popular"
        listed = http.get("/recommendations/models").json()
        assert listed["active"] == "v1" and [v["version"] for v in listed["versions"]] == [
            "v1",
            "v2",
        ]
        switched = http.put("/recommendations/models/active", json={"version": "v2"})
        assert switched.json() == {"active": "v2", "model": "popular"}
        assert http.get("/recommendations/u0").json()["model"] == "popular"
        # Another process (the CLI) switching back is seen on the next request.
        registry.activate("v1")
        time.sleep(0.01)
        assert http.get("/recommendations/u0").json()["version"] == "v1"
        missing = http.put("/recommendations/models/active", json={"version": "nope"})
        assert missing.status_code == 404 and "unknown model version" in missing.json()["detail"]


def test_events_turn_a_new_user_personal_without_refit(registry: Registry) -> None:
    with running(create_recommend_app(registry, None)) as url, httpx.Client(base_url=url) as http:
        assert http.get("/recommendations/newbie").json()["cold_start"]
        posted = http.post("/recommendations/newbie/events", json={"items": ["i7", "i8"]})
        assert posted.status_code == 200 and posted.json()["history"] == 2
        body = http.get("/recommendations/newbie", params={"n": 3}).json()
        assert not body["cold_start"]
        picks = [p["item_id"] for p in body["items"]]
        assert {"i7", "i8"}.isdisjoint(picks) and picks[0] == "i6"  # the comedy hit, not i0
        assert body["items"][0]["because"][0]["item_id"] in {"i7", "i8"}
        # A known user's new events join their history (seen items are then excluded).
        before = http.get("/recommendations/u0", params={"n": 1}).json()["items"][0]["item_id"]
        http.post("/recommendations/u0/events", json={"items": [before]})
        after = http.get("/recommendations/u0", params={"n": 1}).json()["items"][0]["item_id"]
        assert after != before
        bad = http.post("/recommendations/u0/events", json={"items": ["nope"]})
        assert bad.status_code == 400 and "unknown item 'nope'" in bad.json()["detail"]
        assert http.post("/recommendations/u0/events", json={"items": []}).status_code == 422


def test_stored_events_reach_every_worker_and_survive_a_restart(
    registry: Registry, engine: Engine
) -> None:
    from soundstage.recommend.events import SYNC_SECONDS, EventLog

    one = create_recommend_app(registry, None, EventLog(engine))
    two = create_recommend_app(registry, None, EventLog(engine))  # a second worker process
    with running(one) as url_one, running(two) as url_two:
        assert httpx.get(f"{url_two}/recommendations/newbie").json()["cold_start"]
        posted = httpx.post(f"{url_one}/recommendations/newbie/events", json={"items": ["i7"]})
        assert posted.status_code == 200 and posted.json()["history"] == 1
        again = httpx.post(f"{url_one}/recommendations/newbie/events", json={"items": ["i8"]})
        assert again.json()["history"] == 2
        time.sleep(SYNC_SECONDS + 0.1)
        body = httpx.get(f"{url_two}/recommendations/newbie", params={"n": 3}).json()
        assert not body["cold_start"] and body["items"][0]["item_id"] == "i6"
    with running(create_recommend_app(registry, None, EventLog(engine))) as url:  # restarted
        body = httpx.get(f"{url}/recommendations/newbie", params={"n": 3}).json()
        assert not body["cold_start"] and {"i7", "i8"}.isdisjoint(
            p["item_id"] for p in body["items"]
        )
    with engine.connect() as conn:
        stored = conn.execute(
            select(RecInteraction.user_id, RecInteraction.item_id).where(
                RecInteraction.dataset == "served-events"
            )
        ).all()
    assert sorted(stored) == [("newbie", "i7"), ("newbie", "i8")]


def test_http_api_without_a_model_is_503(tmp_path: Path) -> None:
    with running(create_recommend_app(Registry(tmp_path), None)) as url:
        response = httpx.get(f"{url}/recommendations/u0")
    assert response.status_code == 503 and "no recommender model" in response.json()["detail"]


def test_new_titles_enter_a_hybrid_through_content(tmp_path: Path) -> None:
    pytest.importorskip("sentence_transformers")
    from soundstage.recommend.content import embed_items, shared_embedder
    from soundstage.recommend.hybrid import Hybrid

    items = [
        Item(id=f"i{i}", title=t, genres=g)
        for i, (t, g) in enumerate(
            [(f"Starship battle {i}", ("Sci-Fi",)) for i in range(6)]
            + [(f"Wedding comedy {i}", ("Comedy",)) for i in range(6)]
        )
    ]
    X = history()
    ids = [it.id for it in items]
    vectors = embed_items(items, ids, shared_embedder())
    members = [
        {"name": "ease", "params": {"lam": 1.0}, "weight": 1.0},
        {"name": "content", "params": {}, "weight": 1.0},
    ]
    registry = Registry(tmp_path)
    users = [f"u{i}" for i in range(40)]
    registry.publish(Hybrid(members, vectors).fit(X), X, users, ids, items, version="h1")
    new = [
        {"id": "space-new", "title": "Alien starship invasion", "genres": ["Sci-Fi"]},
        {"id": "funny-new", "title": "A romantic wedding comedy", "genres": ["Comedy"]},
    ]
    with running(create_recommend_app(registry, None)) as url, httpx.Client(base_url=url) as http:
        added = http.post("/recommendations/items", json=new, timeout=60)
        assert added.status_code == 200 and added.json()["added"] == ["space-new", "funny-new"]
        fan = [
            p["item_id"] for p in http.get("/recommendations/u0", params={"n": 12}).json()["items"]
        ]
        assert fan.index("space-new") < fan.index("funny-new")
        other = [
            p["item_id"] for p in http.get("/recommendations/u39", params={"n": 12}).json()["items"]
        ]
        assert other.index("funny-new") < other.index("space-new")


@contextmanager
def serving(*args: str) -> Iterator[str]:
    """`soundstage recommend serve --port 0 ARGS` as a subprocess; yields its base URL."""
    command = [sys.executable, "-m", "soundstage", "recommend", "serve", "--port", "0", *args]
    env = {**os.environ, "COLUMNS": "200", "PYTHONUNBUFFERED": "1"}
    server = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    try:
        assert server.stdout is not None
        line = server.stdout.readline()
        url = re.search(r"http://[\d.]+:\d+", line)
        assert url, line + (server.stderr.read() if server.stderr else "")
        for _ in range(100):  # worker processes may still be importing
            try:
                httpx.get(f"{url.group(0)}/recommendations/models", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        yield url.group(0)
    finally:
        server.terminate()
        assert server.wait(20) is not None


def write_log(folder: Path) -> Path:
    X = history()
    rows = ["user_id,item_id,value"] + [
        f"u{u},i{i},5" for u in range(X.shape[0]) for i in X[u].indices
    ]
    (folder / "log.csv").write_text("\n".join(rows) + "\n")
    lines = ["item_id,title,kind,genres"] + [
        f"{it.id},{it.title},{it.kind},{'|'.join(it.genres)}" for it in catalog()
    ]
    (folder / "items.csv").write_text("\n".join(lines) + "\n")
    return folder / "log.csv"


def test_cli_train_recommend_models_activate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOUNDSTAGE_DATA_DIR", str(tmp_path / "data"))
    log = write_log(tmp_path)
    trained = run_soundstage("recommend", "train", str(log), "--model", "ease", "--version", "a")
    assert trained.returncode == 0, trained.stderr
    assert "version a (active)" in trained.stdout
    run_soundstage(
        "recommend", "train", str(log), "--model", "popular", "--version", "b", "--no-activate"
    )
    answer = run_soundstage("recommend", "recommend", "u0", "-n", "2", "--json")
    body = json.loads(answer.stdout)
    assert body["version"] == "a" and len(body["items"]) == 2
    listed = run_soundstage("recommend", "models").stdout
    assert re.search(r"\*\s*│\s*a\s", listed) and " b " in listed
    assert run_soundstage("recommend", "activate", "b").returncode == 0
    assert (
        json.loads(run_soundstage("recommend", "recommend", "u0", "--json").stdout)["model"]
        == "popular"
    )
    for args, needle in [
        (("recommend", "recommend", "u0", "-n", "0"), "n must be between 1 and 1000"),
        (("recommend", "activate", "zz"), "unknown model version 'zz'"),
        (("recommend", "train", str(tmp_path / "none.csv")), "none.csv"),
    ]:
        bad = run_soundstage(*args)
        assert bad.returncode != 0 and needle in bad.stderr and "Traceback" not in bad.stderr


def test_cli_train_tunes_and_serve_answers_over_http(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOUNDSTAGE_DATA_DIR", str(tmp_path / "data"))
    log = write_log(tmp_path)
    trained = run_soundstage("recommend", "train", str(log), "--model", "ease", "--tune")
    assert trained.returncode == 0, trained.stderr
    assert "tuned ease: {'lam'" in trained.stdout
    added = run_soundstage("users", "add", "platform", "--role", "analyst")
    assert added.returncode == 0, added.stderr
    signed = {"Authorization": f"Bearer {added.stdout.strip()}"}
    for workers in ("1", "2"):
        with serving("--workers", workers) as url:
            for user in ("u3", "u30", "u3"):  # with 2 workers, requests reach both processes
                assert httpx.get(f"{url}/recommendations/{user}").status_code == 401
                got = httpx.get(f"{url}/recommendations/{user}", headers=signed, timeout=10)
                assert not got.json()["cold_start"] and got.json()["items"]
            forged = httpx.get(f"{url}/recommendations/u3", headers={**signed, "Host": "x.example"})
            assert forged.status_code == 400
            activate = httpx.put(
                f"{url}/recommendations/models/active", json={"version": "v1"}, headers=signed
            )
            assert activate.status_code == 403  # an analyst reads; an admin switches models
    with serving("--no-auth") as url:
        assert httpx.get(f"{url}/recommendations/u3", timeout=10).status_code == 200
    monkeypatch.setenv("SOUNDSTAGE_DATA_DIR", str(tmp_path / "empty"))
    nothing = run_soundstage("recommend", "serve", "--port", "0", timeout=60)
    assert nothing.returncode != 0 and "no recommender model is active" in nothing.stderr


def test_the_main_web_app_mounts_the_recommendation_routes(registry: Registry) -> None:
    from soundstage.backends import load_backend
    from soundstage.settings import load_settings
    from soundstage.web.app import create_app

    settings = load_settings(data_dir=registry.root.parent)
    # A backend that is never called: only the recommendation routes are exercised here.
    backend = load_backend("openai:unused@http://127.0.0.1:9/v1", settings)
    try:
        with running(create_app(settings, backend, accounts=None)) as url:
            body = httpx.get(f"{url}/recommendations/u0", params={"n": 2}).json()
        assert body["version"] == "v1" and len(body["items"]) == 2
    finally:
        backend.close()


def test_calibration_brings_the_users_other_genre_back(registry: Registry) -> None:
    # A sci-fi fan who also watched two comedies (40% of the history): the plain top 4 has
    # one comedy (25%); calibrated, two (50%, the closer to 40%) (Steck 2018).
    X = history().tolil()
    X[0, 7] = X[0, 8] = 1.0
    X = sp.csr_matrix(X)
    reg = Registry(registry.root.parent / "calibrated")
    users = [f"u{i}" for i in range(X.shape[0])]
    reg.publish(make("ease", lam=1.0).fit(X), X, users, [it.id for it in catalog()], catalog())
    bundle = reg.load()

    def comedies(answer: Any) -> int:
        return sum(int(p.item_id[1:]) >= 6 for p in answer.items)

    assert comedies(recommend_for(bundle, "u0", 4)) == 1
    assert comedies(recommend_for(bundle, "u0", 4, calibration=0.99)) == 2
    assert recommend_for(bundle, "u0", 4, calibration=0.0) == recommend_for(bundle, "u0", 4)
    with pytest.raises(RecommendError, match="calibration must be between 0 and 1"):
        recommend_for(bundle, "u0", 4, calibration=2)
    with pytest.raises(RecommendError, match="choose one"):
        recommend_for(bundle, "u0", 4, calibration=0.5, diversity=0.5)
