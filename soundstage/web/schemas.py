"""What the routes answer, as pydantic models: `/openapi.json` describes every answer, and a
route that returned something else would fail its own test rather than a client.

They mirror the library's JSON (`QueueItem.to_dict`, `Verdict.to_json`, the OpenAI shapes)
field by field; `extra="allow"` lets a field added to the library reach clients before it
is described here. Streaming and non-JSON answers (server-sent events, Markdown) are
documented with `responses=` on their routes instead.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict


class Out(BaseModel):
    model_config = ConfigDict(extra="allow")


# -- /healthz and /v1 ----------------------------------------------------------------------


class Health(Out):
    status: Literal["ok"]
    model: str


class ModelCard(Out):
    id: str
    object: Literal["model"]
    created: int
    owned_by: str


class ModelList(Out):
    object: Literal["list"]
    data: list[ModelCard]


class Usage(Out):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class TextChoice(Out):
    index: int
    text: str
    finish_reason: str | None = None


class TextCompletion(Out):
    id: str
    object: Literal["text_completion"]
    created: int
    model: str
    choices: list[TextChoice]
    usage: Usage


class ChatAnswer(Out):
    role: Literal["assistant"]
    content: str


class ChatChoice(Out):
    index: int
    message: ChatAnswer
    finish_reason: str | None = None


class ChatCompletion(Out):
    id: str
    object: Literal["chat.completion"]
    created: int
    model: str
    choices: list[ChatChoice]
    usage: Usage


# -- moderation ------------------------------------------------------------------------------


class PolicyInfo(Out):
    name: str
    id: str
    description: str
    surfaces: list[str]


class VerdictOut(Out):
    text_sha256: str
    chars: int
    lang: str
    lang_confidence: float
    supported: bool
    scores: dict[str, float]
    decision: Literal["allow", "review", "block"]
    hits: list[dict[str, Any]]
    spans: list[dict[str, Any]]
    changes: list[str]
    model: str
    policy: str
    surface: str
    tier: str
    automated: bool
    notes: list[str]
    latency_ms: float
    id: str | None = None  # in a batch: the item's id
    queue_item: str | None = None  # with "queue": true, when it went to the queue


class VerdictBatch(Out):
    results: list[VerdictOut]


class QueueItemOut(Out):
    id: str
    content_id: str
    surface: str
    source: str
    text: str | None
    text_sha256: str
    verdict: dict[str, Any] | None
    automated_decision: str | None
    policy: str | None
    model: str | None
    status: str
    priority: float
    reports: int
    assignee: str | None
    assigned_at: str | None
    decision: str | None
    reason: str | None
    clause: str | None
    decided_by: str | None
    decided_at: str | None
    appellant: str | None
    appeal_reason: str | None
    appealed_at: str | None
    appeal_outcome: str | None
    appeal_decided_by: str | None
    appeal_decided_at: str | None
    final_decision: str | None
    created_at: str
    updated_at: str


class AuditEventOut(Out):
    id: int
    item_id: str
    at: str
    actor: str
    actor_kind: str
    action: str
    text_sha256: str
    decision: str | None
    reason: str | None
    clause: str | None
    policy: str | None
    model: str | None
    details: dict[str, Any]


class QueueItemHistory(QueueItemOut):
    history: list[AuditEventOut]


class AppealStats(Out):
    open: int
    decided: int
    upheld: int
    overturned: int
    overturn_rate: float | None


class QueueStats(Out):
    by_status: dict[str, int]
    by_source: dict[str, int]
    open: int
    expired_claims: int
    claim_lease_minutes: float
    oldest_open_at: str | None
    final_decisions: dict[str, int]
    automated_agreement: float | None
    appeals: AppealStats


# -- recommendations -----------------------------------------------------------------------


class RecModels(Out):
    active: str | None
    versions: list[dict[str, Any]]


class RecActive(Out):
    active: str
    model: str


class RecAdded(Out):
    added: list[str]  # the ids of the titles that were new
    version: str


class RecEvents(Out):
    user_id: str
    history: int
    version: str


class RecBecause(Out):
    item_id: str
    title: str


class RecPick(Out):
    item_id: str
    title: str
    kind: str
    score: float
    reason: str
    explanation: str
    because: list[RecBecause]


class RecAnswer(Out):
    user_id: str
    version: str
    model: str
    cold_start: bool
    items: list[RecPick]
