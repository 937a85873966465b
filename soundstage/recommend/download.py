"""Fetch a public MovieLens archive from GroupLens, verified, into a folder `read_log` reads.

Licence: the MovieLens data sets are published by GroupLens Research (University of
Minnesota) for research use only. They may not be redistributed without separate permission
and may not be used commercially; publications using them must cite F. Maxwell Harper and
Joseph A. Konstan, "The MovieLens Datasets: History and Context", ACM TiiS 5(4), 2015. That is
why soundstage downloads them on request instead of shipping them.

Why so careful: an archive is checked against the MD5 GroupLens publishes beside it
(`NAME.zip.md5`) and, when the caller pins one, a SHA-256, before anything is extracted;
members with absolute paths or `..` are refused (zip-slip); extraction goes to a temp folder
that is renamed into place in one step. A failure at any point leaves no partial folder and
no temp file behind.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import shutil
import stat
import zipfile
from collections.abc import Callable
from pathlib import Path, PurePosixPath

import httpx

from soundstage.errors import SoundstageError

DEFAULT_BASE_URL = "https://files.grouplens.org/datasets/movielens/"
BASE_URL_ENV = "SOUNDSTAGE_MOVIELENS_URL"
ARCHIVES = ("ml-100k", "ml-latest-small", "ml-1m", "ml-20m", "ml-25m", "ml-latest")
LICENCE = (
    "MovieLens data (GroupLens Research, University of Minnesota) is licensed for research "
    "use only: no redistribution, no commercial use; cite Harper & Konstan, ACM TiiS 2015."
)

Progress = Callable[[int, int | None], None]
"""Called with (bytes done, total bytes or None when the server does not say)."""

_MD5 = re.compile(r"\b[0-9a-fA-F]{32}\b")
_CHUNK = 1 << 20


class DownloadError(SoundstageError):
    """An archive could not be fetched, verified or unpacked."""

    exit_code = 3


def resolve_base_url(explicit: str | None = None) -> str:
    """The archive location: the argument, else $SOUNDSTAGE_MOVIELENS_URL, else GroupLens."""
    url = explicit or os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL
    return url if url.endswith("/") else url + "/"


def download_movielens(
    name: str,
    out_dir: str | Path,
    *,
    base_url: str | None = None,
    sha256: str | None = None,
    on_progress: Progress | None = None,
    timeout: float = 60.0,
) -> Path:
    """Download, verify and unpack archive `name` into `out_dir/name`; return that folder.

    The MD5 published next to the archive must match; a pinned `sha256` must match too (and
    is then enough on its own when no MD5 is published).
    """
    if name not in ARCHIVES:
        raise SoundstageError(
            f"unknown MovieLens archive {name!r}", hint="choose one of " + ", ".join(ARCHIVES)
        )
    if sha256 is not None and not re.fullmatch(r"[0-9a-fA-F]{64}", sha256):
        raise SoundstageError(f"--sha256 {sha256!r} is not 64 hex digits")
    out = Path(out_dir)
    target = out / name
    if target.exists():
        raise DownloadError(
            f"{target} already exists", hint="remove it or choose another --out folder"
        )
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DownloadError(f"cannot create {out}: {exc.strerror or exc}") from None
    root = resolve_base_url(base_url)
    zip_url = f"{root}{name}.zip"
    token = secrets.token_hex(4)
    part = out / f".{name}.zip.{token}.part"
    staging = out / f".{name}.{token}.tmp"
    try:
        with httpx.Client(follow_redirects=True, timeout=timeout) as client:
            md5 = _published_md5(client, zip_url + ".md5", required=sha256 is None)
            got_md5, got_sha = _fetch(client, zip_url, part, on_progress)
        _check(name, "MD5", md5, got_md5)
        _check(name, "SHA-256", sha256, got_sha)
        _extract(part, staging, zip_url)
        top = _single_top_folder(staging, name)
        try:
            os.rename(top, target)
        except OSError as exc:
            raise DownloadError(f"cannot move the archive into {target}: {exc.strerror}") from None
    finally:
        part.unlink(missing_ok=True)
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _published_md5(client: httpx.Client, url: str, *, required: bool) -> str | None:
    """The hex digest in GroupLens' `.md5` file (BSD `MD5 (f) = hex` or GNU `hex  f` form)."""
    try:
        response = client.get(url)
    except httpx.HTTPError as exc:
        raise DownloadError(f"cannot reach {url}: {_reason(exc)}") from None
    if response.status_code == 404 and not required:
        return None
    _raise_for_status(response, url, hint="pass --sha256 to verify without the published MD5")
    match = _MD5.search(response.text)
    if match is None:
        raise DownloadError(f"{url}: no MD5 digest in the response")
    return match.group(0).lower()


def _fetch(
    client: httpx.Client, url: str, part: Path, on_progress: Progress | None
) -> tuple[str, str]:
    """Stream `url` into `part`, hashing as it goes; returns (md5, sha256) hex digests."""
    md5 = hashlib.md5(usedforsecurity=False)
    sha = hashlib.sha256()
    try:
        with client.stream("GET", url) as response:
            _raise_for_status(response, url, hint=None)
            length = response.headers.get("content-length")
            total = int(length) if length and length.isdigit() else None
            done = 0
            if on_progress:
                on_progress(0, total)
            with open(part, "xb") as handle:
                for chunk in response.iter_bytes(_CHUNK):
                    handle.write(chunk)
                    md5.update(chunk)
                    sha.update(chunk)
                    done += len(chunk)
                    if on_progress:
                        on_progress(done, total)
                handle.flush()
                os.fsync(handle.fileno())
    except httpx.HTTPError as exc:
        raise DownloadError(f"download of {url} failed: {_reason(exc)}") from None
    except OSError as exc:
        raise DownloadError(f"cannot write {part}: {exc.strerror or exc}") from None
    if total is not None and done != total:
        raise DownloadError(f"download of {url} stopped at {done:,} of {total:,} bytes")
    return md5.hexdigest(), sha.hexdigest()


def _raise_for_status(response: httpx.Response, url: str, *, hint: str | None) -> None:
    if response.status_code >= 400:
        phrase = response.reason_phrase or ""
        raise DownloadError(f"GET {url}: HTTP {response.status_code} {phrase}".rstrip(), hint=hint)


def _reason(exc: httpx.HTTPError) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def _check(name: str, algorithm: str, expected: str | None, got: str) -> None:
    if expected is not None and expected.lower() != got:
        raise DownloadError(
            f"{name}.zip failed its {algorithm} check: expected {expected.lower()}, got {got}",
            hint="the download was deleted; try again, or check the mirror",
        )


def _extract(archive: Path, staging: Path, url: str) -> None:
    """Unpack into `staging` after checking every member name; refuses links and `..`."""
    try:
        with zipfile.ZipFile(archive) as zf:
            members = zf.infolist()
            for info in members:
                _safe_member(info, url)
            staging.mkdir()
            zf.extractall(staging)
    except zipfile.BadZipFile as exc:
        raise DownloadError(f"{url} is not a valid zip archive: {exc}") from None
    except OSError as exc:
        raise DownloadError(f"cannot unpack {url}: {exc.strerror or exc}") from None


def _safe_member(info: zipfile.ZipInfo, url: str) -> None:
    name = info.filename.replace("\\", "/")
    path = PurePosixPath(name)
    unsafe = (
        name.startswith("/")
        or re.match(r"^[A-Za-z]:", name) is not None
        or ".." in path.parts
        or stat.S_ISLNK(info.external_attr >> 16)
    )
    if unsafe:
        raise DownloadError(
            f"{url}: refusing unsafe archive member {info.filename!r}",
            hint="absolute paths, '..' and links could write outside the target folder",
        )


def _single_top_folder(staging: Path, name: str) -> Path:
    """GroupLens zips hold one folder named like the archive; otherwise take the whole lot."""
    entries = list(staging.iterdir())
    if len(entries) == 1 and entries[0].is_dir():
        return entries[0]
    if not entries:
        raise DownloadError(f"{name}.zip is empty")
    return staging
