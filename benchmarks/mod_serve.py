"""Moderation speed where users meet it: the `Moderator` service and `POST /moderate`.

Why a second speed benchmark: benchmarks/mod_olid.py times the classifier alone; users pay for
the whole path — normalisation, language ID, scoring, policy, explanations, JSON and HTTP. Goals
(issue #6): ≥ 5,000 texts/s in batch on 2 cores, single request p99 < 10 ms.

Measures, on OLID test tweets (repeated to 10,320 texts):
- batch throughput of `Moderator.check_many` (fast tier; without and with explanations; and
  with 2 worker processes, to see whether a second core pays);
- in-process single-text latency (p50/p99 over 2,000 calls, explanations on);
- HTTP: sequential single-text `POST /moderate` against uvicorn in its own process on 127.0.0.1
  (p50/p99 over 1,000 requests), and 100-text batch requests (texts/s); with a bearer token
  checked against the store (as `soundstage serve` runs) and without sign-in, in the same run.

    .venv/bin/python benchmarks/mod_serve.py [--data ../shared/data/mod] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from soundstage.moderate.service import Moderator

ROOT = Path(__file__).resolve().parents[1]


def olid_texts(data: Path) -> list[str]:
    lines = (data / "olid" / "testset-levela.tsv").read_text(encoding="utf-8").splitlines()[1:]
    return [line.split("\t")[1] for line in lines]


def _score_part(texts: list[str]) -> int:
    return len(Moderator.load("community", explain=False).check_many(texts))


def throughput(texts: list[str], explain: bool) -> float:
    m = Moderator.load("community", explain=explain)
    m.check_many(texts[:200])
    started = time.perf_counter()
    m.check_many(texts)
    return len(texts) / (time.perf_counter() - started)


def throughput_processes(texts: list[str], workers: int) -> float:
    parts = [texts[i::workers] for i in range(workers)]
    with ProcessPoolExecutor(workers) as pool:
        list(pool.map(_score_part, [p[:50] for p in parts]))  # load the model in each worker
        started = time.perf_counter()
        done = sum(pool.map(_score_part, parts))
    return done / (time.perf_counter() - started)


def percentiles(ms: list[float]) -> dict[str, float]:
    return {"p50": float(np.percentile(ms, 50)), "p99": float(np.percentile(ms, 99))}


def single_latency(texts: list[str]) -> dict[str, float]:
    m = Moderator.load("community")
    ms = []
    for text in texts[:2000]:
        started = time.perf_counter()
        m.check(text)
        ms.append((time.perf_counter() - started) * 1000)
    return percentiles(ms)


def app_without_auth() -> Any:
    """The moderation app with no sign-in (`serve --no-auth`), for the comparison."""
    from soundstage.settings import load_settings
    from soundstage.web.moderate_api import create_moderate_app

    return create_moderate_app(load_settings(), None)


@contextmanager
def server(auth: bool) -> Iterator[tuple[str, dict[str, str]]]:
    """uvicorn in its own process (a server thread would share the client's GIL), on a fresh
    data directory; with `auth`, one account whose token the client sends."""
    from soundstage.accounts import Accounts
    from soundstage.settings import load_settings
    from soundstage.store import open_store

    home = Path(tempfile.mkdtemp(prefix="mod-serve-"))
    # One account sends every request: lift its per-account budget (600 a minute by default).
    env = {**os.environ, "SOUNDSTAGE_DATA_DIR": str(home), "SOUNDSTAGE_RATE_LIMIT_PER_MINUTE": "0"}
    headers: dict[str, str] = {}
    if auth:
        engine = open_store(load_settings(data_dir=str(home)))
        token = Accounts(engine).add("bench", ["reviewer"]).token
        engine.dispose()
        headers = {"Authorization": f"Bearer {token}"}
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    factory = "soundstage.web.moderate_api:app_from_env" if auth else "mod_serve:app_without_auth"
    command = [sys.executable, "-m", "uvicorn", "--factory", "--port", str(port)]
    command += ["--app-dir", str(ROOT / "benchmarks"), "--log-level", "warning", factory]
    process = subprocess.Popen(command, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                httpx.get(f"{url}/moderate/policies", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        yield url, headers
    finally:
        process.terminate()
        process.wait(10)
        shutil.rmtree(home, ignore_errors=True)


def http(texts: list[str], auth: bool) -> dict[str, float]:
    with (
        server(auth) as (url, headers),
        httpx.Client(base_url=url, timeout=30, headers=headers) as client,
    ):
        for text in texts[:50]:
            client.post("/moderate", json={"text": text})
        ms = []
        for text in texts[:1000]:
            started = time.perf_counter()
            response = client.post("/moderate", json={"text": text})
            ms.append((time.perf_counter() - started) * 1000)
            response.raise_for_status()
        batches = [texts[i : i + 100] for i in range(0, 3000, 100)]
        started = time.perf_counter()
        for batch in batches:
            client.post("/moderate", json={"items": [{"text": t} for t in batch]})
        rate = 3000 / (time.perf_counter() - started)
    return {**percentiles(ms), "batch_texts_per_s": rate}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "mod")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    texts = olid_texts(args.data) * 12
    result: dict[str, Any] = {
        "texts": len(texts),
        "batch_texts_per_s": throughput(texts, explain=False),
        "batch_explain_texts_per_s": throughput(texts, explain=True),
        "batch_2_processes_texts_per_s": throughput_processes(texts, 2),
        "single_in_process_ms": single_latency(texts),
        "http": http(texts, auth=True),
        "http_no_auth": http(texts, auth=False),
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"| measure ({result['texts']:,} OLID test tweets) | value |\n|---|---|")
    print(f"| batch, no explanations | {result['batch_texts_per_s']:,.0f} texts/s |")
    print(
        f"| batch, explanations for flagged | {result['batch_explain_texts_per_s']:,.0f} texts/s |"
    )
    print(f"| batch, 2 processes | {result['batch_2_processes_texts_per_s']:,.0f} texts/s |")
    single, web = result["single_in_process_ms"], result["http"]
    print(f"| single text in-process p50 / p99 | {single['p50']:.2f} / {single['p99']:.2f} ms |")
    bare = result["http_no_auth"]
    print(f"| POST /moderate single p50 / p99, token | {web['p50']:.2f} / {web['p99']:.2f} ms |")
    print(
        f"| POST /moderate single p50 / p99, --no-auth | {bare['p50']:.2f} / {bare['p99']:.2f} ms |"
    )
    print(f"| POST /moderate, 100-text batches, token | {web['batch_texts_per_s']:,.0f} texts/s |")
    print(
        f"| POST /moderate, 100-text batches, --no-auth | "
        f"{bare['batch_texts_per_s']:,.0f} texts/s |"
    )


if __name__ == "__main__":
    main()
