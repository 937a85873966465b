"""The probes of issue #13, against `soundstage serve` as a team runs it: a subprocess on
127.0.0.1 with accounts, the embedded model (drama-lm), SQLite in a fresh data directory.

Each probe prints the status, the seconds until the answer and the server's resident memory
growth (psutil), so the table in docs/benchmarks.md can be re-measured:

    .venv/bin/python benchmarks/http_probes.py
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import psutil

ROOT = Path(__file__).resolve().parents[1]


def start(home: Path) -> tuple[subprocess.Popen[str], str, str]:
    env = {**os.environ, "SOUNDSTAGE_DATA_DIR": str(home), "COLUMNS": "200"}
    env["PYTHONUNBUFFERED"] = "1"
    add = [sys.executable, "-m", "soundstage", "users", "add", "probe", "--role", "admin"]
    token = subprocess.run(add, capture_output=True, text=True, env=env, check=True).stdout.strip()
    serve = [sys.executable, "-m", "soundstage", "serve", "--port", "0", "--model", "embedded"]
    proc = subprocess.Popen(
        serve, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env
    )
    assert proc.stdout is not None
    match = re.search(r"http://[\d.]+:\d+", proc.stdout.readline())
    if not match:
        proc.kill()
        sys.exit("serve did not start")
    return proc, match.group(0), token


def raw_post(url: str, path: str, length: int, token: str, send: int) -> tuple[str, float]:
    """POST announcing `length` bytes, sending `send` of them; the status line and seconds."""
    host, port = url.removeprefix("http://").split(":")
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {length}\r\n\r\n"
    ).encode()
    started = time.perf_counter()
    with socket.create_connection((host, int(port)), timeout=60) as sock:
        sock.sendall(head)
        chunk = b"a" * 65536
        try:
            sent = 0
            while sent < send:
                sock.sendall(chunk)
                sent += len(chunk)
        except OSError:
            pass
        answer = sock.recv(200).split(b"\r\n", 1)[0].decode()
    return answer, time.perf_counter() - started


def main() -> None:
    home = Path(tempfile.mkdtemp(prefix="probes-"))
    proc, url, token = start(home)
    server = psutil.Process(proc.pid)
    signed = {"Authorization": f"Bearer {token}"}
    rows: list[tuple[str, str, float, float]] = []

    def probe(name: str, run: Callable[[], str]) -> None:
        before = server.memory_info().rss
        started = time.perf_counter()
        status = run()
        seconds = time.perf_counter() - started
        rows.append((name, status, seconds, (server.memory_info().rss - before) / 2**20))

    def post(path: str, body: object) -> str:
        return str(httpx.post(f"{url}{path}", json=body, headers=signed, timeout=120).status_code)

    try:
        probe("no token: GET /v1/models", lambda: str(httpx.get(f"{url}/v1/models").status_code))
        probe(
            "50 MB prompt, Content-Length",
            lambda: raw_post(url, "/v1/completions", 50 * 2**20, token, 50 * 2**20)[0],
        )
        probe("5 MB prompt (JSON)", lambda: post("/v1/completions", {"prompt": "a" * 5 * 2**20}))
        probe(
            "1 MiB prompt to drama-lm (cut to its window)",
            lambda: post("/v1/completions", {"prompt": "To be. " * 150_000, "max_tokens": 4}),
        )
        probe(
            "max_tokens 32,768",
            lambda: post("/v1/completions", {"prompt": "a", "max_tokens": 32768}),
        )
        probe(
            "50 MB body to /moderate",
            lambda: raw_post(url, "/moderate", 50 * 2**20, token, 50 * 2**20)[0],
        )
        probe(
            "20 MB report",
            lambda: post(
                "/moderate/reports", {"content_id": "c", "reason": "r", "text": "a" * 20 * 2**20}
            ),
        )
        for field, path, body in (
            ("prompt", "/v1/completions", '{"prompt": "a\\ud800"}'),
            (
                "report",
                "/moderate/reports",
                '{"content_id": "c", "reason": "\\ud800", "text": "t"}',
            ),
            ("claim", "/moderate/queue/claim", '{"surface": "\\ud800"}'),
            ("queue item id (NUL)", "/moderate/queue/%00", None),
        ):

            def send(path: str = path, body: str | None = body) -> str:
                if body is None:
                    return str(httpx.get(f"{url}{path}", headers=signed).status_code)
                headers = {**signed, "content-type": "application/json"}
                return str(
                    httpx.post(f"{url}{path}", content=body.encode(), headers=headers).status_code
                )

            probe(f"lone surrogate / NUL in a {field}", send)

        def leave() -> str:
            try:
                httpx.post(
                    f"{url}/v1/completions",
                    json={"prompt": "a", "max_tokens": 4096},
                    headers=signed,
                    timeout=0.5,
                )
            except httpx.ReadTimeout:
                pass
            started = time.perf_counter()
            quick = httpx.post(
                f"{url}/v1/completions",
                json={"prompt": "a", "max_tokens": 1},
                headers=signed,
                timeout=300,
            )
            return f"{quick.status_code}; next answer after {time.perf_counter() - started:.2f} s"

        probe("client leaves a 4,096-token completion", leave)
        probe(
            "forged Host header",
            lambda: str(httpx.get(f"{url}/healthz", headers={"Host": "evil.example"}).status_code),
        )
    finally:
        proc.terminate()
        proc.wait(10)
    print("| probe | answer | seconds | server memory growth |\n|---|---|---|---|")
    for name, status, seconds, grown in rows:
        print(f"| {name} | {status} | {seconds:.2f} | {grown:+.1f} MB |")


if __name__ == "__main__":
    main()
