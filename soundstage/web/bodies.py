"""The base of every JSON request body: no NUL, no lone surrogate, anywhere in it.

A body model derives from `Body` instead of `BaseModel`; its check runs before the fields
are parsed and names the field (`items[1].text: ...`), so the route answers 422 (400 on the
OpenAI routes) instead of failing later in the store or the tokenizer with a 500.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, model_validator

from soundstage.textcheck import unsafe_path

__all__ = ["Body", "check_body"]


def check_body(data: Any) -> Any:
    where = unsafe_path(data)
    if where is not None:
        raise ValueError(f"{where}: text must not contain NUL or lone surrogates (U+D800-U+DFFF)")
    return data


class Body(BaseModel):
    @model_validator(mode="before")
    @classmethod
    def _plain_text(cls, data: Any) -> Any:
        return check_body(data)
