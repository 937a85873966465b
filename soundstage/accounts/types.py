"""Accounts' domain types: roles, who a caller is, a freshly issued token.

Roles (a user may hold several; `admin` may do everything):

    admin     accounts, recommender versions and catalogue, everything below
    writer    the writers' room and the text model (`/v1/...`)
    composer  the score and the text model
    reviewer  the moderation review queue: claim, decide, appeals, statements
    analyst   recommendations and audits: read them, post viewing events

Every signed-in account may score text (`POST /moderate`), report content and appeal a
decision: those are what any user of a platform does.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime

from soundstage.errors import SoundstageError
from soundstage.store.schema import ROLES

__all__ = [
    "ANYONE",
    "ROLES",
    "ROLE_HELP",
    "AccountError",
    "AuthError",
    "IssuedToken",
    "Principal",
    "TokenInfo",
    "canonical_name",
]

ROLE_HELP = {
    "admin": "accounts, recommender versions and catalogue, and everything the others may do",
    "writer": "the writers' room and the text model (/v1/...)",
    "composer": "the score and the text model (/v1/...)",
    "reviewer": "the moderation review queue: claim, decide, appeals, statements",
    "analyst": "recommendations and audits: read them, post viewing events",
}
ANYONE: tuple[str, ...] = ()  # a route any signed-in account may use
NAME = re.compile(r"[a-z0-9][a-z0-9._@-]{0,63}")


class AccountError(SoundstageError):
    """An account request that cannot be carried out: unknown user, bad name or role, ..."""


class AuthError(SoundstageError):
    """No valid credentials (a missing, unknown, revoked or expired token; a disabled user)."""


def canonical_name(name: str) -> str:
    """The account name as stored: NFKC, lower case, stripped; an AccountError if unusable.
    One canonical form keeps "Alice" and "alice" from being two reviewers."""
    if not isinstance(name, str):
        raise AccountError("a user name must be text")
    value = unicodedata.normalize("NFKC", name).strip().casefold()
    if not NAME.fullmatch(value):
        raise AccountError(
            f"user name {name!r} is not usable",
            hint="1-64 characters: letters, digits and . _ @ -, starting with a letter or digit",
        )
    return value


def check_roles(roles: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """Known roles, deduplicated, in ROLES order; an AccountError naming the valid ones."""
    wanted = [r.strip().lower() for r in roles]
    unknown = [r for r in wanted if r not in ROLES]
    if unknown:
        raise AccountError(f"unknown role {unknown[0]!r}", hint=f"use one of: {', '.join(ROLES)}")
    if not wanted:
        raise AccountError("give a user at least one role", hint=f"roles: {', '.join(ROLES)}")
    return tuple(r for r in ROLES if r in wanted)


@dataclass(frozen=True)
class Principal:
    """Who is calling: the account behind a token (or the local operator with --no-auth)."""

    id: str
    name: str
    roles: tuple[str, ...]
    token_id: str | None = None

    def may(self, roles: tuple[str, ...]) -> bool:
        """Whether one of `roles` is ours; ANYONE (empty) admits every account."""
        return not roles or "admin" in self.roles or any(r in self.roles for r in roles)


@dataclass(frozen=True)
class TokenInfo:
    id: str
    user: str
    label: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None


@dataclass(frozen=True)
class IssuedToken:
    """A new token. `token` is shown once and never stored."""

    token: str
    id: str
    user: str
    expires_at: datetime | None
