"""The MovieLens downloader against a real HTTP server on 127.0.0.1 (never the internet)."""

from __future__ import annotations

import functools
import hashlib
import http.server
import io
import subprocess
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cli_runner import run_soundstage

from soundstage.errors import SoundstageError
from soundstage.recommend.download import (
    BASE_URL_ENV,
    DownloadError,
    download_movielens,
    resolve_base_url,
)
from soundstage.recommend.sources import read_log

U_DATA = "1\t10\t5\t881250949\n1\t20\t3\t881250950\n2\t10\t4\t881250951\n"


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """(base URL, folder it serves): a threaded static server on an ephemeral port."""
    root = tmp_path / "site"
    root.mkdir()
    handler = functools.partial(_Quiet, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", root
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _zip(members: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, text in members.items():
            zf.writestr(name, text)
    return buffer.getvalue()


def _publish(root: Path, name: str, data: bytes, *, md5: str | None = None) -> None:
    (root / f"{name}.zip").write_bytes(data)
    digest = md5 or hashlib.md5(data).hexdigest()
    (root / f"{name}.zip.md5").write_text(f"MD5 ({name}.zip) = {digest}\n")  # GroupLens' form


def _leftovers(out: Path) -> list[str]:
    return sorted(p.name for p in out.iterdir()) if out.exists() else []


def test_good_download_is_verified_unpacked_and_readable(
    site: tuple[str, Path], tmp_path: Path
) -> None:
    url, root = site
    data = _zip({"ml-100k/u.data": U_DATA, "ml-100k/README": "research use only\n"})
    _publish(root, "ml-100k", data)
    seen: list[tuple[int, int | None]] = []
    out = tmp_path / "data"
    folder = download_movielens(
        "ml-100k",
        out,
        base_url=url,
        sha256=hashlib.sha256(data).hexdigest(),
        on_progress=lambda done, total: seen.append((done, total)),
    )
    assert folder == out / "ml-100k" and (folder / "README").read_text() == "research use only\n"
    assert _leftovers(out) == ["ml-100k"]  # no temp zip, no staging folder
    assert seen[0] == (0, len(data)) and seen[-1] == (len(data), len(data))
    inter, _, _ = read_log(folder)
    assert len(inter) == 3 and inter.user_ids == ("1", "2")


def test_md5_mismatch_deletes_everything_and_says_so(
    site: tuple[str, Path], tmp_path: Path
) -> None:
    url, root = site
    _publish(root, "ml-100k", _zip({"ml-100k/u.data": U_DATA}), md5="0" * 32)
    out = tmp_path / "data"
    with pytest.raises(DownloadError) as err:
        download_movielens("ml-100k", out, base_url=url)
    message = str(err.value)
    assert "ml-100k.zip failed its MD5 check: expected 00000000" in message
    assert "\n" not in message
    assert _leftovers(out) == []


def test_pinned_sha256_must_match_too(site: tuple[str, Path], tmp_path: Path) -> None:
    url, root = site
    _publish(root, "ml-1m", _zip({"ml-1m/ratings.dat": "1::10::5::978300760\n"}))
    with pytest.raises(DownloadError, match="failed its SHA-256 check"):
        download_movielens("ml-1m", tmp_path / "d", base_url=url, sha256="a" * 64)
    assert _leftovers(tmp_path / "d") == []


def test_pinned_sha256_is_enough_when_no_md5_is_published(
    site: tuple[str, Path], tmp_path: Path
) -> None:
    url, root = site
    data = _zip({"ratings.csv": "userId,movieId,rating,timestamp\n1,1,4.0,964982703\n"})
    (root / "ml-latest-small.zip").write_bytes(data)  # no .md5, and no top folder
    with pytest.raises(DownloadError, match=r"ml-latest-small.zip.md5: HTTP 404"):
        download_movielens("ml-latest-small", tmp_path / "d", base_url=url)
    folder = download_movielens(
        "ml-latest-small", tmp_path / "d", base_url=url, sha256=hashlib.sha256(data).hexdigest()
    )
    assert (folder / "ratings.csv").is_file()


@pytest.mark.parametrize("evil", ["../escaped.txt", "/tmp/absolute.txt", "ml-20m/../../up.txt"])
def test_zip_slip_archive_is_refused_before_anything_is_written(
    site: tuple[str, Path], tmp_path: Path, evil: str
) -> None:
    url, root = site
    _publish(root, "ml-20m", _zip({"ml-20m/ratings.csv": "x\n", evil: "gotcha\n"}))
    out = tmp_path / "deep" / "data"
    with pytest.raises(DownloadError, match="refusing unsafe archive member"):
        download_movielens("ml-20m", out, base_url=url)
    assert _leftovers(out) == []
    assert not (tmp_path / "deep" / "escaped.txt").exists()
    assert not (tmp_path / "up.txt").exists()


def test_http_404_and_unreachable_server_are_one_line(
    site: tuple[str, Path], tmp_path: Path
) -> None:
    url, _ = site
    with pytest.raises(DownloadError) as err:
        download_movielens("ml-25m", tmp_path / "d", base_url=url)
    assert "HTTP 404" in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(DownloadError, match="cannot reach http://127.0.0.1:9/"):
        download_movielens("ml-25m", tmp_path / "d", base_url="http://127.0.0.1:9", timeout=5)
    assert _leftovers(tmp_path / "d") == []


def test_not_a_zip_and_existing_target_and_unknown_name(
    site: tuple[str, Path], tmp_path: Path
) -> None:
    url, root = site
    _publish(root, "ml-latest", b"<html>not a zip</html>")
    with pytest.raises(DownloadError, match="is not a valid zip archive"):
        download_movielens("ml-latest", tmp_path / "d", base_url=url)
    assert _leftovers(tmp_path / "d") == []
    (tmp_path / "d" / "ml-latest").mkdir()
    with pytest.raises(DownloadError, match="already exists"):
        download_movielens("ml-latest", tmp_path / "d", base_url=url)
    with pytest.raises(SoundstageError, match="unknown MovieLens archive 'ml-5k'"):
        download_movielens("ml-5k", tmp_path / "d", base_url=url)


def test_base_url_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert resolve_base_url() == "https://files.grouplens.org/datasets/movielens/"
    monkeypatch.setenv(BASE_URL_ENV, "http://mirror.example/ml")
    assert resolve_base_url() == "http://mirror.example/ml/"
    assert resolve_base_url("http://other/") == "http://other/"


# --- CLI ------------------------------------------------------------------------------------


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return run_soundstage("recommend", *args, columns=200)


def test_cli_download_then_import(
    site: tuple[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, root = site
    _publish(root, "ml-100k", _zip({"ml-100k/u.data": U_DATA}))
    monkeypatch.setenv(BASE_URL_ENV, url)  # the subprocess inherits it
    out = tmp_path / "data"
    result = run("download", "ml-100k", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(out / "ml-100k")
    assert "research use only" in result.stderr and "no redistribution" in result.stderr
    result = run("import", str(out / "ml-100k"), "--out", str(tmp_path / "log"))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "log" / "log.csv").read_text().count("\n") == 4


@pytest.mark.parametrize(
    ("name", "extra", "needle"),
    [
        ("ml-100k", [], "failed its MD5 check"),
        ("ml-1m", [], "HTTP 404"),
        ("ml-5k", [], "unknown MovieLens archive"),
        ("ml-100k", ["--sha256", "xyz"], "is not 64 hex digits"),
    ],
)
def test_cli_download_errors_are_one_line(
    site: tuple[str, Path], tmp_path: Path, name: str, extra: list[str], needle: str
) -> None:
    url, root = site
    _publish(root, "ml-100k", _zip({"ml-100k/u.data": U_DATA}), md5="f" * 32)
    out = tmp_path / "data"
    result = run("download", name, "--out", str(out), "--url", url, *extra)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and needle in errors[0]
    assert _leftovers(out) == []
