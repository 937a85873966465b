"""Keys in the data dir: the watermark key (and, with `soundstage keys init`, the C2PA
signing chain). Files are created with 0600 permissions and never leave the data dir.

The watermark key is 32 random bytes in `DATA_DIR/keys/watermark.key`, made on first use, so
every sampler and detector of one installation shares it. Detection needs the same key:
text or audio made on another installation reads as unmarked.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from soundstage.errors import SoundstageError
from soundstage.settings import Settings

__all__ = ["ProvenanceKeyError", "keys_dir", "watermark_key"]

WATERMARK_FILE = "watermark.key"


class ProvenanceKeyError(SoundstageError):
    """A key or certificate that is missing, unreadable or unusable."""


def keys_dir(settings: Settings) -> Path:
    return settings.data_dir / "keys"


def write_secret(path: Path, data: bytes) -> None:
    """Write `data` to `path` readable by the owner only (0600), atomically."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(path.name + f".{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def watermark_key(settings: Settings) -> bytes:
    """This installation's watermark key (made on first use)."""
    path = keys_dir(settings) / WATERMARK_FILE
    if not path.exists():
        try:
            write_secret(path, secrets.token_bytes(32))
        except FileExistsError:
            pass
        except OSError as exc:
            raise ProvenanceKeyError(
                f"cannot create the watermark key {path}: {exc.strerror}"
            ) from None
    try:
        key = path.read_bytes()
    except OSError as exc:
        raise ProvenanceKeyError(f"cannot read the watermark key {path}: {exc.strerror}") from None
    if len(key) != 32:
        raise ProvenanceKeyError(f"{path} is not a watermark key (32 bytes, got {len(key)})")
    return key
