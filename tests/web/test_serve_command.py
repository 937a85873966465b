"""`soundstage serve` as a user runs it: a subprocess, talked to over HTTP."""

from __future__ import annotations

import os
import re
import selectors
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from soundstage.backends import load_backend


def cli_env() -> dict[str, str]:
    # Wide lines so Rich does not wrap the URL; unbuffered so it arrives at once.
    return {**os.environ, "COLUMNS": "200", "PYTHONUNBUFFERED": "1"}


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "soundstage", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, env=cli_env())


def assert_one_line_error(result: subprocess.CompletedProcess[str], message: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines[0] == f"error: {message}"
    assert all(line.startswith("  hint: ") for line in lines[1:2]) and len(lines) <= 2
    assert "serving" not in result.stdout


def test_serve_with_a_bogus_model_fails_with_one_line() -> None:
    result = run_cli("serve", "--model", "bogus")
    assert_one_line_error(result, "unknown backend spec 'bogus'")
    assert result.returncode == 2


def test_serve_with_a_missing_model_file_fails_before_binding(tmp_path: Path) -> None:
    missing = tmp_path / "m.gguf"
    result = run_cli("serve", "--model", f"llamacpp:{missing}")
    assert_one_line_error(result, f"GGUF model file {missing} does not exist")
    assert result.returncode == 3


def test_serve_on_a_busy_port_fails_with_one_line() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run_cli("serve", "--port", str(port), "--model", "openai:m@http://127.0.0.1:9/v1")
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith(f"error: cannot listen on 127.0.0.1:{port}")


def test_serve_prints_its_url_and_answers_openai_requests(
    server_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The served backend is itself an `openai:` client of the test server: a real chain
    # client -> `soundstage serve` -> test server, with no model needed.
    added = run_cli("users", "add", "Writer1", "--role", "writer")
    token = added.stdout.strip()
    assert added.returncode == 0 and token.startswith("sst_") and "\n" not in token
    with serving("--model", f"openai:fixed-text@{server_url}/v1") as (model, url):
        assert model == "fixed-text"
        # no token, a wrong one, a forged Host header (DNS rebinding): refused
        assert httpx.get(f"{url}/models").status_code == 401
        bad = {"Authorization": "Bearer sst_000000000000_nope"}
        assert httpx.get(f"{url}/models", headers=bad).status_code == 401
        assert httpx.get(f"{url[:-3]}/healthz").status_code == 200
        forged = httpx.get(f"{url[:-3]}/healthz", headers={"Host": "evil.example"})
        assert forged.status_code == 400
        monkeypatch.setenv("OPENAI_API_KEY", token)  # what any OpenAI client sends
        with load_backend(f"openai:fixed-text@{url}") as client:
            assert client.complete("a b", max_tokens=3).text == " once upon a"
            chunks = list(client.stream("a b", max_tokens=2))
            assert [c.text for c in chunks] == [" once", " upon", ""]


def test_serve_defaults_to_the_model_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOUNDSTAGE_MODEL", "embedded")
    with serving("--no-auth") as (model, url):
        with load_backend(f"openai:{model}@{url}") as client:
            result = client.complete("INT. ", max_tokens=4, seed=1)
    assert result.completion_tokens > 0


def test_serve_without_auth_only_on_loopback() -> None:
    refused = run_cli("serve", "--no-auth", "--host", "0.0.0.0", "--allowed-host", "*")
    assert_one_line_error(refused, "--no-auth serves anyone who can reach 0.0.0.0: refused")
    anywhere = run_cli("serve", "--host", "0.0.0.0")
    assert_one_line_error(
        anywhere, "--host 0.0.0.0 listens on every interface: name the host clients use"
    )


def test_users_cli_errors_are_one_line() -> None:
    assert run_cli("users", "add", "ann", "--role", "writer").returncode == 0
    assert_one_line_error(
        run_cli("users", "add", "ANN", "--role", "writer"), "user 'ann' already exists"
    )
    assert_one_line_error(run_cli("users", "add", "bo", "--role", "boss"), "unknown role 'boss'")
    assert_one_line_error(run_cli("users", "token", "nobody"), "no user 'nobody'")
    assert_one_line_error(
        run_cli("users", "add", "a b", "--role", "writer"), "user name 'a b' is not usable"
    )


@contextmanager
def serving(*args: str) -> Iterator[tuple[str, str]]:
    """Run `soundstage serve --port 0 ARGS`; yield (model, base URL) from its first line."""
    command = [sys.executable, "-m", "soundstage", "serve", "--port", "0", *args]
    proc = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=cli_env()
    )
    try:
        line = _first_line(proc, timeout=60)
        match = re.fullmatch(r"serving (\S+) at (http://127\.0\.0\.1:\d+/v1)\n", line)
        assert match, line
        yield match.group(1), match.group(2)
    finally:
        proc.terminate()
        _, stderr = proc.communicate(timeout=15)
    # uvicorn shuts down cleanly, then re-raises SIGTERM so the exit status tells the truth.
    assert proc.returncode in (0, -signal.SIGTERM), stderr
    assert "Shutting down" in stderr and "Traceback" not in stderr


def _first_line(proc: subprocess.Popen[str], timeout: float) -> str:
    assert proc.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(proc.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if selector.select(timeout=0.1):
                return proc.stdout.readline()
            if proc.poll() is not None:
                break
    proc.kill()
    pytest.fail(f"serve printed nothing; stderr: {proc.communicate()[1]}")
