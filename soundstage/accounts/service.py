"""Accounts in the store: users, roles, passwords (argon2id) and API tokens.

    accounts = Accounts(engine)
    issued = accounts.add("alice", ["reviewer"])        # a user and her first token
    accounts.authenticate(issued.token)                  # -> Principal("alice", ("reviewer",))

A token reads `sst_<id>_<secret>`: the id (12 hex characters) finds the row, the secret
(32 random bytes, URL-safe base64) is checked against its SHA-256 in constant time. The
secret is never stored; a lost token is revoked and a new one issued. Tokens expire
(default 90 days; `days=None` for a service account that must not), can be revoked one by
one or all at once, and stop working when their user is disabled.

Passwords (for the web studio's sign-in) are hashed with argon2-cffi's argon2id defaults.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Engine, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from soundstage.accounts.types import (
    AccountError,
    AuthError,
    IssuedToken,
    Principal,
    TokenInfo,
    canonical_name,
    check_roles,
)
from soundstage.store.db import translate_errors
from soundstage.store.schema import ApiToken, User, UserRole, utcnow

__all__ = ["DEFAULT_TOKEN_DAYS", "Accounts"]

DEFAULT_TOKEN_DAYS = 90
PREFIX = "sst_"
MAX_PASSWORD = 1024
# How often a token's last_used_at is written: at most once a minute, not on every request.
TOUCH_EVERY = timedelta(minutes=1)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


_HASHER = PasswordHasher()  # argon2id, the library's recommended parameters


class Accounts:
    """Users, roles and tokens in one database. Thread-safe (a session per call)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- users -----------------------------------------------------------------------------

    def add(
        self,
        name: str,
        roles: Sequence[str],
        *,
        password: str | None = None,
        days: int | None = DEFAULT_TOKEN_DAYS,
        label: str = "first token",
    ) -> IssuedToken:
        """A new user with `roles` and a first API token (returned, shown once)."""
        name = canonical_name(name)
        wanted = check_roles(list(roles))
        hashed = self._hash(password) if password is not None else None
        now = utcnow()
        user_id = uuid.uuid4().hex
        with translate_errors(self.engine, "cannot add a user to"), Session(self.engine) as s:
            if s.scalar(select(User.id).where(User.name == name)) is not None:
                raise AccountError(f"user {name!r} already exists", hint="pick another name")
            s.add(User(id=user_id, name=name, password_hash=hashed, created_at=now, updated_at=now))
            s.flush()
            s.add_all(UserRole(user_id=user_id, role=r) for r in wanted)
            issued = self._issue(s, user_id, name, days, label)
            try:
                s.commit()
            except IntegrityError:  # another process added the same name a moment ago
                raise AccountError(
                    f"user {name!r} already exists", hint="pick another name"
                ) from None
        return issued

    def users(self) -> list[tuple[Principal, bool, int]]:
        """Every user with whether they are disabled and how many live tokens they hold."""
        now = utcnow()
        with translate_errors(self.engine, "cannot read users from"), Session(self.engine) as s:
            out = []
            for user in s.scalars(select(User).order_by(User.name)):
                tokens = s.scalars(select(ApiToken).where(ApiToken.user_id == user.id)).all()
                live = sum(1 for t in tokens if _live(t, now))
                out.append((self._principal(s, user), user.disabled, live))
            return out

    def exist(self) -> bool:
        """Whether there is any account at all (one query, for a server's start)."""
        with translate_errors(self.engine, "cannot read users from"), Session(self.engine) as s:
            return s.scalar(select(User.id).limit(1)) is not None

    def get(self, name: str) -> Principal:
        with translate_errors(self.engine, "cannot read users from"), Session(self.engine) as s:
            return self._principal(s, self._user(s, name))

    def set_roles(self, name: str, roles: Sequence[str]) -> Principal:
        wanted = check_roles(list(roles))
        with translate_errors(self.engine, "cannot change roles in"), Session(self.engine) as s:
            user = self._user(s, name)
            s.execute(delete(UserRole).where(UserRole.user_id == user.id))
            s.add_all(UserRole(user_id=user.id, role=r) for r in wanted)
            user.updated_at = utcnow()
            s.commit()
            return self._principal(s, user)

    def set_disabled(self, name: str, disabled: bool = True) -> None:
        """Lock a user out (every token stops working at once), or let them back in."""
        with translate_errors(self.engine, "cannot change users in"), Session(self.engine) as s:
            user = self._user(s, name)
            user.disabled, user.updated_at = disabled, utcnow()
            s.commit()

    def set_password(self, name: str, password: str) -> None:
        hashed = self._hash(password)
        with translate_errors(self.engine, "cannot change users in"), Session(self.engine) as s:
            user = self._user(s, name)
            user.password_hash, user.updated_at = hashed, utcnow()
            s.commit()

    def check_password(self, name: str, password: str) -> Principal:
        """The user when `password` is theirs; AuthError (the same message) otherwise."""
        wrong = AuthError("wrong user name or password")
        try:
            key = canonical_name(name)
        except AccountError:
            raise wrong from None
        with Session(self.engine) as s:
            user = s.scalar(select(User).where(User.name == key))
            if user is None or user.disabled or not user.password_hash:
                raise wrong
            try:
                _HASHER.verify(user.password_hash, password)
            except (VerificationError, InvalidHashError):
                raise wrong from None
            return self._principal(s, user)

    # -- tokens ----------------------------------------------------------------------------

    def issue(
        self, name: str, *, days: int | None = DEFAULT_TOKEN_DAYS, label: str = ""
    ) -> IssuedToken:
        with translate_errors(self.engine, "cannot issue a token in"), Session(self.engine) as s:
            user = self._user(s, name)
            issued = self._issue(s, user.id, user.name, days, label)
            s.commit()
            return issued

    def tokens(self, name: str) -> list[TokenInfo]:
        with translate_errors(self.engine, "cannot read tokens from"), Session(self.engine) as s:
            user = self._user(s, name)
            rows = s.scalars(
                select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.created_at)
            )
            return [
                TokenInfo(
                    t.id,
                    user.name,
                    t.label,
                    t.created_at,
                    t.expires_at,
                    t.revoked_at,
                    t.last_used_at,
                )
                for t in rows
            ]

    def revoke(self, name: str, token_id: str | None = None) -> int:
        """Revoke one token of `name` (by id) or all of them; how many were not yet revoked."""
        now = utcnow()
        with translate_errors(self.engine, "cannot revoke tokens in"), Session(self.engine) as s:
            user = self._user(s, name)
            where = [ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None)]
            if token_id is not None:
                if s.get(ApiToken, token_id) is None:
                    raise AccountError(f"user {user.name!r} has no token {token_id!r}")
                where.append(ApiToken.id == token_id)
            done = s.execute(update(ApiToken).where(*where).values(revoked_at=now))
            s.commit()
            return int(done.rowcount or 0)  # type: ignore[attr-defined]

    def authenticate(self, token: str) -> Principal:
        """The account a bearer token belongs to; AuthError saying why not."""
        token_id, secret = _split(token)
        now = utcnow()
        with Session(self.engine) as s:
            row = s.get(ApiToken, token_id)
            if row is None or not hmac.compare_digest(row.secret_sha256, _digest(secret)):
                raise AuthError("unknown API token")
            if row.revoked_at is not None:
                raise AuthError("this API token was revoked")
            if row.expires_at is not None and row.expires_at <= now:
                raise AuthError("this API token has expired", hint="ask for a new one")
            user = s.get(User, row.user_id)
            if user is None or user.disabled:
                raise AuthError("this account is disabled")
            if row.last_used_at is None or now - row.last_used_at > TOUCH_EVERY:
                row.last_used_at = now
                s.commit()
            principal = self._principal(s, user)
        return Principal(principal.id, principal.name, principal.roles, token_id)

    # -- helpers ---------------------------------------------------------------------------

    @staticmethod
    def _hash(password: str) -> str:
        if not isinstance(password, str) or not password:
            raise AccountError("a password must not be empty")
        if len(password) > MAX_PASSWORD:
            raise AccountError(f"a password is at most {MAX_PASSWORD} characters")
        if any(0xD800 <= ord(c) <= 0xDFFF or c == "\x00" for c in password):
            raise AccountError("a password must not contain NUL or lone surrogates")
        return _HASHER.hash(password)

    @staticmethod
    def _user(s: Session, name: str) -> User:
        user = s.scalar(select(User).where(User.name == canonical_name(name)))
        if user is None:
            raise AccountError(f"no user {canonical_name(name)!r}", hint="soundstage users list")
        return user

    @staticmethod
    def _principal(s: Session, user: User) -> Principal:
        roles = s.scalars(select(UserRole.role).where(UserRole.user_id == user.id)).all()
        return Principal(user.id, user.name, check_roles(list(roles)) if roles else ())

    @staticmethod
    def _issue(s: Session, user_id: str, name: str, days: int | None, label: str) -> IssuedToken:
        if days is not None and days < 1:
            raise AccountError(f"a token must live at least a day (got {days})")
        token_id = secrets.token_hex(6)
        secret = secrets.token_urlsafe(32)
        expires = utcnow() + timedelta(days=days) if days is not None else None
        s.add(
            ApiToken(
                id=token_id,
                user_id=user_id,
                label=label[:200],
                secret_sha256=_digest(secret),
                expires_at=expires,
            )
        )
        return IssuedToken(f"{PREFIX}{token_id}_{secret}", token_id, name, expires)


def _live(token: ApiToken, now: datetime) -> bool:
    return token.revoked_at is None and (token.expires_at is None or token.expires_at > now)


def _split(token: str) -> tuple[str, str]:
    if not isinstance(token, str) or not token.startswith(PREFIX):
        raise AuthError("not a soundstage API token", hint="tokens start with sst_")
    token_id, sep, secret = token[len(PREFIX) :].partition("_")
    if not sep or len(token_id) != 12 or not secret or not secret.isascii():
        raise AuthError("not a soundstage API token", hint="tokens start with sst_")
    return token_id, secret
