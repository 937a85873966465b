"""Studio page times with a full store (issue #14: p95 < 100 ms on 2 cores).

Fills a fresh SQLite data directory with 1,000 projects (one of them a whole 10-minute
script written by the embedded model, with its versions and alternatives), 1,000 items in
the review queue and an admin, starts `soundstage serve` as a subprocess on 127.0.0.1,
signs in through the login form and asks each page `--rounds` times, one at a time.
Times are measured at the client, so they include loopback HTTP (an upper bound on the
server's time).

    .venv/bin/python benchmarks/studio_pages.py [--rounds 100]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

PASSWORD = "benchmark password"


def fill(home: Path, projects: int, items: int) -> tuple[str, str]:
    """The store: projects, queue items, one admin. Returns (full project, one item) ids."""
    from soundstage.accounts import Accounts
    from soundstage.backends import load_backend
    from soundstage.moderate.queue import ReviewQueue
    from soundstage.moderate.types import RuleHit, Span, Verdict, text_sha256
    from soundstage.script.room import WritersRoom
    from soundstage.script.types import LEVELS, Controls
    from soundstage.settings import Settings
    from soundstage.store import open_store

    settings = Settings(data_dir=home, model="embedded")
    engine = open_store(settings)
    Accounts(engine).add("bench", ["admin"], password=PASSWORD)
    with load_backend("embedded", settings) as backend:
        room = WritersRoom(engine, backend, author="bench")
        for i in range(projects - 1):
            room.new(f"project {i}", f"A keeper number {i} guards a light by the sea.", Controls())
        full = room.new("full", "A lighthouse keeper must save a stranded whale.", Controls())
        for level in LEVELS[1:]:
            room.generate(full.project_id, level)
        room.generate(full.project_id, "title", op="regenerate")
        room.generate(full.project_id, "characters", op="regenerate")
    queue = ReviewQueue(engine)
    first = ""
    for i in range(items):
        text = f"Comment {i}: I will find you and hurt you, says the troll."
        start = text.index("hurt")
        verdict = Verdict(
            text_sha256=text_sha256(text),
            chars=len(text),
            lang="en",
            lang_confidence=0.99,
            supported=True,
            scores={"threat": 0.9},
            decision="review",
            hits=[RuleHit("threat", 0.9, 0.5, "review", "threats")],
            spans=[Span(start, start + 4, "hurt", "threat", 0.9)],
            model="moderation-fast@1",
            policy="community@2026-11-26",
            surface="comments",
        )
        item = queue.submit(verdict, content_id=f"c{i}", text=text)
        first = first or item.id
    engine.dispose()
    return full.project_id, first


def serve(home: Path) -> tuple[subprocess.Popen[str], str]:
    env = {**os.environ, "SOUNDSTAGE_DATA_DIR": str(home), "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "soundstage", "serve", "--port", "0", "--model", "embedded"]
    proc = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env
    )
    assert proc.stdout is not None
    match = re.search(r"http://[\d.]+:\d+", proc.stdout.readline())
    if not match:
        proc.kill()
        raise SystemExit("the server did not start")
    # uvicorn's access log goes to stdout: keep reading it, or a full pipe stalls the server.
    threading.Thread(target=proc.stdout.read, daemon=True).start()
    return proc, match.group(0)


def sign_in(client: httpx.Client) -> None:
    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', client.get("/login").text)
    assert csrf, "no login form"
    answer = client.post(
        "/login", data={"username": "bench", "password": PASSWORD, "csrf": csrf.group(1)}
    )
    assert answer.status_code == 303, answer.text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--projects", type=int, default=1000)
    parser.add_argument("--items", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="studio-bench-") as tmp:
        home = Path(tmp) / "data"
        started = time.perf_counter()
        pid, item = fill(home, args.projects, args.items)
        print(
            f"store: {args.projects} projects, {args.items} queue items "
            f"({time.perf_counter() - started:.0f} s to fill)"
        )
        proc, url = serve(home)
        try:
            with httpx.Client(base_url=url, timeout=30) as client:
                sign_in(client)
                pages = [
                    "/login",
                    "/projects",
                    "/projects?page=20",
                    f"/projects/{pid}",
                    f"/projects/{pid}/score",
                    "/review",
                    f"/review/{item}",
                    "/report",
                    "/recommendations",
                    "/admin",
                ]
                print(f"{'page':<34} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'KiB':>6}")
                for path in pages:
                    timings, size = [], 0
                    for i in range(args.rounds + 5):
                        t0 = time.perf_counter()
                        answer = client.get(path)
                        elapsed = (time.perf_counter() - t0) * 1000
                        assert answer.status_code == 200, (path, answer.status_code)
                        size = len(answer.content)
                        if i >= 5:  # the first few warm caches
                            timings.append(elapsed)
                    timings.sort()
                    p95 = timings[int(0.95 * (len(timings) - 1))]
                    shown = path.replace(pid, "{full}").replace(item, "{item}")
                    print(
                        f"{shown:<34} {statistics.median(timings):>8.1f} {p95:>8.1f} "
                        f"{timings[-1]:>8.1f} {size / 1024:>6.0f}"
                    )
        finally:
            proc.terminate()
            proc.wait(10)


if __name__ == "__main__":
    main()
