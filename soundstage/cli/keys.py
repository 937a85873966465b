"""Commands: keys init|show (the content-credentials signing chain) and verify.

    soundstage keys init                      # a private root → intermediate → leaf chain
    soundstage keys init --cert chain.pem --key leaf.key --anchor root.pem   # your own
    soundstage keys show                      # fingerprints and expiry
    soundstage verify out/                    # every file: valid / invalid / unsigned / untrusted

`verify` exits 0 only when every file is valid; `--json` prints one object per file.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table

from soundstage.cli._app import app, console, state
from soundstage.errors import SoundstageError
from soundstage.settings import ensure_data_dir

keys_app = typer.Typer(help="The keys that sign content credentials.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")


def read_pem(path: Path, what: str) -> bytes:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SoundstageError(f"cannot read {what} {path}: {exc.strerror}") from None
    if b"-----BEGIN" not in data:
        raise SoundstageError(f"{path}: not a PEM file ({what})")
    return data


@keys_app.command("init")
def keys_init(
    force: bool = typer.Option(False, "--force", help="Replace existing keys (a new chain)."),
    org: str = typer.Option("soundstage", "--org", help="Organisation name in the certificates."),
    cert: Path | None = typer.Option(None, "--cert", help="Your chain (PEM: leaf first, no root)."),
    key: Path | None = typer.Option(None, "--key", help="The leaf's private key (PKCS#8 PEM)."),
    anchor: Path | None = typer.Option(None, "--anchor", help="Your root certificate (PEM)."),
) -> None:
    """Create a signing chain in the data dir, or install your organisation's."""
    from soundstage.provenance.keys import (
        KEY_FILE,
        ProvenanceKeyError,
        init_chain,
        install,
        keys_dir,
    )

    settings = state.settings()
    ensure_data_dir(settings)
    given = [x for x in (cert, key, anchor) if x is not None]
    if given and len(given) != 3:
        raise SoundstageError("--cert, --key and --anchor go together")
    if (keys_dir(settings) / KEY_FILE).exists() and not force:
        raise ProvenanceKeyError(
            f"signing keys already exist in {keys_dir(settings)}", hint="add --force to replace"
        )
    if cert is not None and key is not None and anchor is not None:
        install(
            settings,
            read_pem(cert, "--cert"),
            read_pem(key, "--key"),
            read_pem(anchor, "--anchor"),
        )
    else:
        init_chain(settings, org=org, force=force)
    keys_show()


@keys_app.command("show")
def keys_show() -> None:
    """Fingerprints (SHA-256) and validity of the signing chain."""
    from soundstage.provenance.keys import describe, keys_dir

    settings = state.settings()
    table = Table("role", "subject", "SHA-256", "valid until")
    for info in describe(settings):
        table.add_row(info.role, info.subject, info.sha256[:47] + "…", f"{info.not_after:%Y-%m-%d}")
    console.print(table)
    console.print(f"keys in {keys_dir(settings)} (0600); the private key never leaves it")


@app.command("verify")
def verify(
    target: Path = typer.Argument(..., help="A file or a folder (a package)."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per file."),
) -> None:
    """Check content credentials: valid, invalid (and why), unsigned or untrusted."""
    from soundstage.provenance.credentials import verify_path
    from soundstage.provenance.signing import UNSIGNED_NOTE, credentials

    found = credentials(state.settings(), create=False)
    if found is None:
        raise SoundstageError(UNSIGNED_NOTE.replace("files are not signed", "cannot verify"))
    checks = verify_path(found, target)
    if as_json:
        for c in checks:
            print(
                json.dumps(
                    {
                        "path": c.path,
                        "status": c.status,
                        "reason": c.reason,
                        "codes": list(c.codes),
                        "source": c.source,
                    }
                )
            )
    else:
        colour = {"valid": "green", "untrusted": "yellow", "invalid": "red", "unsigned": "red"}
        for c in checks:
            why = f"  {c.reason}" if c.reason else ""
            console.print(f"[{colour[c.status]}]{c.status:<9}[/] {c.path}{why}", highlight=False)
    bad = [c for c in checks if not c.ok]
    if bad:
        raise typer.Exit(1)
