"""Errors a user can cause and fix.

Every exception raised for bad input derives from `SoundstageError`. The CLI prints
`error: <message>` (plus the hint) on one line and exits non-zero, with no traceback unless
`--debug` is given; the web app maps them to 4xx JSON bodies. Anything else is a bug.
"""

from __future__ import annotations


class SoundstageError(Exception):
    """A problem the user can fix. `hint` says how."""

    exit_code = 2

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class ConfigError(SoundstageError):
    """Settings, data directory or database URL are wrong."""


class BackendError(SoundstageError):
    """A text backend could not be built or failed to answer."""


class BackendSpecError(BackendError):
    """The backend spec string is not one we understand."""


class BackendUnavailable(BackendError):
    """The server is unreachable, the model file is missing, or an optional extra is absent."""

    exit_code = 3


class SamplingError(SoundstageError):
    """Sampling parameters out of range."""


class StoreError(SoundstageError):
    """The database cannot be reached or migrated."""

    exit_code = 3


class JobError(SoundstageError):
    """A job id is unknown or a job cannot move to the asked state."""


class FormatError(SoundstageError):
    """A file is malformed. Say where: `FormatError.at(path, line, what)` → "path:line: what"."""

    @classmethod
    def at(
        cls, path: object, line: int | None, what: str, *, hint: str | None = None
    ) -> FormatError:
        where = f"{path}:{line}" if line is not None else str(path)
        return cls(f"{where}: {what}", hint=hint)


class ExportError(SoundstageError):
    """An export could not be written (folder missing, not writable, disk full)."""
