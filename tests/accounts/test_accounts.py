"""Accounts on a real store (SQLite and PostgreSQL): users, roles, passwords, API tokens."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from soundstage.accounts import AccountError, Accounts, AuthError, canonical_name
from soundstage.store.schema import ApiToken, User, utcnow


@pytest.fixture
def accounts(engine: Engine) -> Accounts:
    return Accounts(engine)


def test_a_user_gets_roles_and_a_token_that_signs_them_in(accounts: Accounts) -> None:
    issued = accounts.add("Alice", ["reviewer", "writer", "reviewer"])
    assert accounts.exist()
    assert issued.user == "alice" and issued.token.startswith("sst_")
    who = accounts.authenticate(issued.token)
    assert (who.name, who.roles, who.token_id) == ("alice", ("writer", "reviewer"), issued.id)
    assert who.may(("reviewer",)) and who.may(()) and not who.may(("admin",))
    assert accounts.get("ALICE").name == "alice"
    # the secret is not in the database, only its hash
    with Session(accounts.engine) as s:
        row = s.get(ApiToken, issued.id)
        assert row is not None and issued.token.split("_", 2)[2] not in row.secret_sha256
        assert row.last_used_at is not None  # touched by the sign-in above


def test_names_are_one_person_whatever_their_case(accounts: Accounts) -> None:
    accounts.add("alice", ["reviewer"])
    with pytest.raises(AccountError, match="user 'alice' already exists"):
        accounts.add(" ALICE ", ["reviewer"])
    assert canonical_name("Ａｌｉｃｅ") == "alice"  # NFKC: full-width letters are letters
    for bad in ("", "a b", "-x", "x" * 65, "al\x00ice", "\ud800"):
        with pytest.raises(AccountError, match="is not usable"):
            canonical_name(bad)


def test_unknown_roles_and_empty_role_lists_are_refused(accounts: Accounts) -> None:
    with pytest.raises(AccountError, match="unknown role 'boss'") as err:
        accounts.add("bo", ["boss"])
    assert err.value.hint is not None and "analyst" in err.value.hint
    with pytest.raises(AccountError, match="at least one role"):
        accounts.add("bo", [])
    assert accounts.users() == [] and not accounts.exist()  # nothing half-written


@pytest.mark.parametrize("token", ["", "Bearer x", "sst_", "sst_abc_def", "sst_0123456789ab"])
def test_malformed_tokens_are_refused(accounts: Accounts, token: str) -> None:
    with pytest.raises(AuthError, match="not a soundstage API token"):
        accounts.authenticate(token)


def test_a_wrong_secret_is_an_unknown_token(accounts: Accounts) -> None:
    issued = accounts.add("alice", ["writer"])
    forged = issued.token[:-4] + ("AAAA" if not issued.token.endswith("AAAA") else "BBBB")
    with pytest.raises(AuthError, match="unknown API token"):
        accounts.authenticate(forged)


def test_revoked_expired_and_disabled_tokens_stop_working(accounts: Accounts) -> None:
    first = accounts.add("alice", ["writer"])
    second = accounts.issue("alice", days=30, label="laptop")
    third = accounts.issue("alice", days=None, label="service")
    assert third.expires_at is None
    assert second.expires_at is not None
    assert timedelta(days=29) < second.expires_at - utcnow() <= timedelta(days=30)
    assert accounts.revoke("alice", second.id) == 1
    with pytest.raises(AuthError, match="revoked"):
        accounts.authenticate(second.token)
    accounts.authenticate(first.token)  # the others still work
    with Session(accounts.engine) as s:
        s.execute(
            update(ApiToken)
            .where(ApiToken.id == first.id)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
        s.commit()
    with pytest.raises(AuthError, match="expired"):
        accounts.authenticate(first.token)
    accounts.set_disabled("alice")
    with pytest.raises(AuthError, match="disabled"):
        accounts.authenticate(third.token)
    accounts.set_disabled("alice", False)
    assert accounts.authenticate(third.token).name == "alice"
    assert accounts.revoke("alice") == 2  # all not yet revoked: the expired and the service one
    (listed,) = [u for u in accounts.users() if u[0].name == "alice"]
    assert listed[2] == 0
    assert [t.label for t in accounts.tokens("alice")] == ["first token", "laptop", "service"]
    with pytest.raises(AccountError, match="no token 'nope'"):
        accounts.revoke("alice", "nope")


def test_passwords_are_argon2_and_checked(accounts: Accounts) -> None:
    accounts.add("alice", ["writer"], password="correct horse")
    with Session(accounts.engine) as s:
        stored = s.scalar(select(User.password_hash).where(User.name == "alice"))
    assert stored is not None and stored.startswith("$argon2id$")
    assert accounts.check_password("ALICE", "correct horse").name == "alice"
    for name, password in (("alice", "wrong"), ("nobody", "correct horse"), ("a b", "x")):
        with pytest.raises(AuthError, match="wrong user name or password"):
            accounts.check_password(name, password)
    accounts.set_password("alice", "battery staple")
    with pytest.raises(AuthError):
        accounts.check_password("alice", "correct horse")
    for bad in ("", "x" * 1025, "a\x00b", "\udc80"):
        with pytest.raises(AccountError):
            accounts.set_password("alice", bad)


def test_roles_can_be_replaced(accounts: Accounts) -> None:
    issued = accounts.add("alice", ["writer"])
    assert accounts.set_roles("alice", ["analyst", "admin"]).roles == ("admin", "analyst")
    assert accounts.authenticate(issued.token).roles == ("admin", "analyst")
    with pytest.raises(AccountError, match="no user 'bob'"):
        accounts.set_roles("bob", ["writer"])


def test_downgrade_drops_the_account_tables(accounts: Accounts) -> None:
    from alembic import command
    from sqlalchemy import inspect

    from soundstage.store.db import alembic_config, head_revision, upgrade

    accounts.add("alice", ["admin"])
    with accounts.engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0004")
    assert not {"users", "user_roles", "api_tokens"} & set(
        inspect(accounts.engine).get_table_names()
    )
    assert upgrade(accounts.engine) == head_revision()
    assert accounts.users() == []
