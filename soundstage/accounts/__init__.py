"""Accounts: users, roles, passwords and API tokens in the store (issue #13).

`types.py` holds the roles and who a caller is; `service.Accounts` reads and writes them.
The web app's `web/auth.py` turns a bearer token into a `Principal`; `soundstage users`
manages them from the shell.
"""

from soundstage.accounts.service import DEFAULT_TOKEN_DAYS, Accounts
from soundstage.accounts.types import (
    ANYONE,
    ROLE_HELP,
    ROLES,
    AccountError,
    AuthError,
    IssuedToken,
    Principal,
    TokenInfo,
    canonical_name,
    check_roles,
)

__all__ = [
    "ANYONE",
    "DEFAULT_TOKEN_DAYS",
    "ROLES",
    "ROLE_HELP",
    "AccountError",
    "Accounts",
    "AuthError",
    "IssuedToken",
    "Principal",
    "TokenInfo",
    "canonical_name",
    "check_roles",
]
