"""POST /moderate and the review queue over HTTP, against a real uvicorn server on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from conftest import FixedTextTestBackend
from servers import running

from soundstage.accounts import Accounts
from soundstage.settings import Settings
from soundstage.store import open_store
from soundstage.web.app import create_app
from soundstage.web.moderate_api import create_moderate_app

TOXIC = "you are a stupid worthless idiot, shut up"
BENIGN = "What a lovely film, thanks for sharing the trailer"


PEOPLE = {"alice": ["reviewer"], "bob": ["reviewer"], "carol": ["reviewer"], "dana": ["writer"]}


@pytest.fixture
def accounts(store_settings: Settings) -> Iterator[Accounts]:
    engine = open_store(store_settings)
    yield Accounts(engine)
    engine.dispose()


@pytest.fixture
def as_user(accounts: Accounts, store_settings: Settings) -> Iterator[dict[str, httpx.Client]]:
    """One client per account of PEOPLE (signed in with its own token), on one server."""
    tokens = {name: accounts.add(name, roles).token for name, roles in PEOPLE.items()}
    app = create_moderate_app(store_settings, accounts)
    with running(app) as url:
        clients = {
            name: httpx.Client(
                base_url=url, timeout=30, headers={"Authorization": f"Bearer {token}"}
            )
            for name, token in tokens.items()
        }
        yield clients
        for http in clients.values():
            http.close()


@pytest.fixture
def client(as_user: dict[str, httpx.Client]) -> httpx.Client:
    return as_user["alice"]


def test_single_and_batch(client: httpx.Client) -> None:
    one = client.post("/moderate", json={"text": TOXIC})
    assert one.status_code == 200
    assert one.json()["decision"] != "allow" and one.json()["scores"]["toxicity"] > 0.5
    batch = client.post(
        "/moderate",
        json={
            "items": [{"id": "a", "text": BENIGN}, {"id": "b", "text": TOXIC}],
            "surface": "chat",
        },
    )
    results = batch.json()["results"]
    assert [r["id"] for r in results] == ["a", "b"]
    assert results[0]["decision"] == "allow" and results[0]["surface"] == "chat"
    assert results[1]["scores"] == one.json()["scores"]  # same text, same scores


def test_bad_requests(client: httpx.Client) -> None:
    assert client.post("/moderate", json={}).status_code == 422
    assert client.post("/moderate", json={"text": "a", "items": []}).status_code == 422
    assert client.post("/moderate", content=b'{"text": "\xff"}').status_code == 422
    big = client.post("/moderate", json={"items": [{"text": "ok"}, {"text": "a" * 1_048_577}]})
    assert big.status_code == 413 and big.json()["detail"].startswith("items[1]:")
    unknown = client.post("/moderate", json={"text": "hi", "policy": "/etc/passwd"})
    assert unknown.status_code == 400 and "unknown policy" in unknown.json()["detail"]
    surface = client.post("/moderate", json={"text": "hi", "surface": "radio"})
    assert surface.status_code == 400 and "no surface 'radio'" in surface.json()["detail"]
    many = client.post("/moderate", json={"items": [{"text": "x"}] * 1001})
    assert many.status_code == 422
    assert client.get("/moderate/queue/nope").status_code == 404


def test_policies_include_files_in_the_data_dir(store_settings: Settings) -> None:
    folder = store_settings.data_dir / "policies"
    folder.mkdir(parents=True)
    (folder / "strict.toml").write_text(
        'name = "strict"\nversion = "7"\n[defaults]\ntoxicity = { block = 0.01 }\n'
    )
    app = create_moderate_app(store_settings, None)  # local use, no sign-in
    with running(app) as url, httpx.Client(base_url=url, timeout=30) as http:
        names = {p["name"]: p["id"] for p in http.get("/moderate/policies").json()}
        assert names["strict"] == "strict@7" and "community" in names
        verdict = http.post("/moderate", json={"text": BENIGN, "policy": "strict"}).json()
        assert verdict["decision"] == "block" and verdict["policy"] == "strict@7"


def test_queue_flow_over_http(as_user: dict[str, httpx.Client]) -> None:
    client, bob, carol, dana = (as_user[n] for n in ("alice", "bob", "carol", "dana"))
    flagged = client.post("/moderate", json={"text": TOXIC, "queue": True}).json()
    item_id = flagged["queue_item"]
    report = dana.post(
        "/moderate/reports",
        json={"content_id": "u9", "reporter": "mallory", "reason": "spam link", "text": "buy"},
    )
    assert report.status_code == 201
    assert dana.get("/moderate/queue").status_code == 403  # a writer is no reviewer
    pending = client.get("/moderate/queue").json()
    assert {i["id"] for i in pending} == {item_id, report.json()["id"]}
    assert pending[0]["id"] == item_id  # automated flags outrank a single report
    reported = client.get(f"/moderate/queue/{report.json()['id']}").json()["history"]
    assert reported[0]["actor"] == "user:dana"  # the caller, not the body's "reporter"
    # the body's "reviewer" is ignored: the caller (alice) claims
    claimed = client.post("/moderate/queue/claim", json={"reviewer": "bob"}).json()
    assert claimed["id"] == item_id and claimed["assignee"] == "alice"
    wrong = bob.post(
        f"/moderate/queue/{item_id}/decision",
        json={"reviewer": "alice", "decision": "block", "reason": "x"},
    )
    assert wrong.status_code == 409 and "alice" in wrong.json()["detail"]
    decided = client.post(
        f"/moderate/queue/{item_id}/decision",
        json={
            "decision": "block",
            "reason": "Insults another user",
            "clause": "Guidelines §3 No personal attacks",
        },
    )
    assert decided.status_code == 200 and decided.json()["final_decision"] == "block"
    dana.post(f"/moderate/queue/{item_id}/appeal", json={"reason": "joke"})
    again = client.post("/moderate/queue/claim", json={})
    assert again.status_code == 200 and again.json()["id"] != item_id  # the report, not the appeal
    second = carol.post("/moderate/queue/claim", json={}).json()
    assert second["id"] == item_id
    upheld = carol.post(
        f"/moderate/queue/{item_id}/appeal/decision",
        json={
            "decision": "block",
            "reason": "Still an insult",
            "clause": "Guidelines §3 No personal attacks",
        },
    ).json()
    assert upheld["appeal_outcome"] == "upheld"
    released = client.post(f"/moderate/queue/{again.json()['id']}/release")
    assert released.status_code == 200 and released.json()["status"] == "pending"
    statement = client.get(f"/moderate/queue/{item_id}/statement").json()
    assert "alice" not in str(statement) and "carol" not in str(statement)
    markdown = client.get(f"/moderate/queue/{item_id}/statement", params={"format": "markdown"})
    assert markdown.headers["content-type"].startswith("text/markdown")
    history = client.get(f"/moderate/queue/{item_id}").json()["history"]
    assert [e["action"] for e in history][:2] == ["flagged", "assigned"]
    assert client.get("/moderate/queue/stats").json()["appeals"]["upheld"] == 1


def test_the_full_app_mounts_moderation(settings: Settings) -> None:
    with running(create_app(settings, FixedTextTestBackend(), accounts=None)) as url:
        response = httpx.post(f"{url}/moderate", json={"text": BENIGN}, timeout=30)
    assert response.status_code == 200 and response.json()["decision"] == "allow"
