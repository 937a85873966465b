"""Statements of reasons (EU DSA Art. 17) from a review-queue item and its audit log.

Why a separate module: the statement is a pure function of what the queue recorded, so it can
be rebuilt at any time, tested without a database, and rendered for people (markdown) or for
machines (a dict; `transparency_database` follows the field names of the Commission's DSA
Transparency Database, Art. 24(5)). Reviewer and reporter identities are left out: the user
is told *that* a person decided or a notice was received, not who.

Art. 17(3): (a) the decision and its territorial scope and duration; (b) facts and
circumstances, incl. whether it followed a notice; (c) the use of automated means for
detection and for the decision; (e) the contractual ground (a policy clause) and why;
(f) redress: internal complaint, out-of-court dispute settlement, courts.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from soundstage.moderate.queue import AuditEvent, QueueError, QueueItem

# Art. 20(1): complaints must be possible for at least six months after the decision.
APPEAL_WINDOW = timedelta(days=183)
RESTRICTIONS = {"block": "removal"}  # what each human decision does to the content
OUT_OF_COURT = (
    "You may refer the dispute to a certified out-of-court dispute settlement body (DSA Art. 21)."
)
JUDICIAL = "You may also bring the matter before a competent court at any time."


def build_statement(
    item: QueueItem,
    events: Sequence[AuditEvent],
    *,
    service: str = "soundstage",
    territorial_scope: Sequence[str] = ("worldwide",),
    now: datetime | None = None,
) -> dict[str, Any]:
    """The statement for the item's decision as it stands (after an appeal, the appeal's)."""
    decided = _last(events, "decided")
    appeal_decided = _last(events, "appeal_decided")
    final = appeal_decided or decided
    automated_block = item.automated_decision == "block" and final is None
    if final is None and not automated_block:
        raise QueueError(
            f"item {item.id} has no decision yet (status {item.status})",
            hint="a statement of reasons is issued once the item is decided",
        )
    outcome = final.decision if final is not None else "block"
    clause = final.clause if final is not None else _top_clause(item)
    decided_at = final.at if final is not None else item.created_at
    explanation = final.reason if final is not None else _automated_explanation(item)
    detected_automatically = item.source in ("automated", "release_gate")
    level = "fully" if final is None else "partially" if item.verdict is not None else "not"
    restriction = RESTRICTIONS.get(outcome or "")
    complaint = _complaint(item, decided, appeal_decided)
    issued = now or datetime.now(UTC)
    statement: dict[str, Any] = {
        "statement_id": f"{item.id}-{'appeal' if appeal_decided else 'decision'}",
        "service": service,
        "issued_at": issued.isoformat(),
        "decision": {
            "outcome": outcome,
            "restriction": restriction,
            "description": _describe(outcome, restriction),
            "territorial_scope": list(territorial_scope),
            "duration": "indefinite" if restriction else None,
            "decided_at": decided_at.isoformat(),
            "decided_by": "automated" if final is None else "human reviewer",
        },
        "content": {
            "content_id": item.content_id,
            "surface": item.surface,
            "text_sha256": item.text_sha256,
            "type": ["text", "synthetic_media"] if item.source == "release_gate" else ["text"],
            "language": item.verdict.lang if item.verdict else None,
            "first_seen_at": item.created_at.isoformat(),
        },
        "facts_and_circumstances": _facts(item, detected_automatically, final is None),
        "notice": {"received": item.reports > 0, "reports": item.reports},
        "automated_means": {
            "detection": detected_automatically,
            "decision": final is None,
            "level": level,
            "model": item.model,
            "policy": item.policy,
        },
        "ground": {
            "type": "terms_of_service",
            "clause": clause,
            "explanation": explanation,
            "legal_ground": None,  # the queue decides against policy, not on legality
        },
        "complaint": complaint,
        "redress": _redress(item, decided_at),
    }
    statement["transparency_database"] = (
        _transparency(item, statement, level) if restriction else None
    )
    return statement


def render_markdown(statement: dict[str, Any]) -> str:
    """The statement for the person affected, in plain words."""
    decision, ground = statement["decision"], statement["ground"]
    content, automated = statement["content"], statement["automated_means"]
    lines = [
        f"# Statement of reasons — {statement['service']}",
        "",
        f"Statement {statement['statement_id']}, issued {statement['issued_at'][:10]}.",
        "",
        "## Decision",
        f"{decision['description']} (decided {decision['decided_at'][:10]} by "
        f"{decision['decided_by']}; scope: {', '.join(decision['territorial_scope'])}"
        + (f", {decision['duration']}" if decision["duration"] else "")
        + ").",
        "",
        "## Content",
        f"Content {content['content_id']}"
        + (f" on {content['surface']}" if content["surface"] else "")
        + f" (SHA-256 {content['text_sha256'][:16]}…).",
        "",
        "## Facts and circumstances",
        statement["facts_and_circumstances"],
        "",
        "## Automated means",
        f"Detected by automated means: {'yes' if automated['detection'] else 'no'}. "
        f"Decided by automated means: {'yes' if automated['decision'] else 'no'}"
        + (
            f" (model {automated['model']}, policy {automated['policy']})"
            if automated["model"]
            else ""
        )
        + ".",
        "",
        "## Ground",
        f"Policy clause: {ground['clause'] or 'none cited'}.",
        f"Explanation: {ground['explanation']}",
    ]
    complaint = statement["complaint"]
    if complaint:
        lines += ["", "## Your complaint", _complaint_text(complaint)]
    redress = statement["redress"]
    lines += ["", "## Redress"]
    internal = redress["internal_complaint"]
    if internal["available"]:
        lines.append(
            f"- Appeal this decision in {statement['service']} until {internal['until'][:10]}."
        )
    lines += [f"- {redress['out_of_court']}", f"- {redress['judicial']}", ""]
    return "\n".join(lines)


# --- helpers ----------------------------------------------------------------------------------


def _last(events: Sequence[AuditEvent], action: str) -> AuditEvent | None:
    found = [e for e in events if e.action == action]
    return found[-1] if found else None


def _top_clause(item: QueueItem) -> str | None:
    if item.verdict is None or not item.verdict.hits:
        return None
    return max(item.verdict.hits, key=lambda h: h.score).clause


def _automated_explanation(item: QueueItem) -> str:
    assert item.verdict is not None
    hits = [h for h in item.verdict.hits if h.outcome == "block"] or item.verdict.hits
    parts = [f"{h.category} scored {h.score:.2f}, at or above {h.threshold:.2f}" for h in hits]
    return "Automated classification: " + ("; ".join(parts) or "blocked by policy") + "."


def _describe(outcome: str | None, restriction: str | None) -> str:
    if restriction == "removal":
        return "The content was removed (it is no longer shown to anyone)"
    return "No action was taken against the content: it stays visible"


def _facts(item: QueueItem, detected_automatically: bool, automated_decision: bool) -> str:
    parts = []
    if detected_automatically:
        how = "before release" if item.source == "release_gate" else "on its own initiative"
        model = f" ({item.model}, policy {item.policy})" if item.model else ""
        parts.append(f"The text was flagged by automated classification{model} {how}.")
        if item.verdict is not None and item.verdict.hits:
            hits = ", ".join(f"{h.category} {h.score:.2f}" for h in item.verdict.hits)
            parts.append(f"Scores that crossed a threshold: {hits}.")
    if item.reports:
        users = "a user" if item.reports == 1 else f"{item.reports} users"
        parts.append(f"The text was reported by {users} (notice under DSA Art. 16).")
    if automated_decision:
        parts.append("No person has reviewed it yet; the decision was taken automatically.")
    else:
        parts.append("A human reviewer examined the text and decided.")
    if item.appeal_outcome:
        parts.append(
            f"After a complaint, a second reviewer {item.appeal_outcome} the first decision."
        )
    return " ".join(parts)


def _complaint(
    item: QueueItem, decided: AuditEvent | None, appeal_decided: AuditEvent | None
) -> dict[str, Any] | None:
    if item.appealed_at is None:
        return None
    return {
        "lodged_at": item.appealed_at.isoformat(),
        "original_decision": decided.decision if decided else None,
        "outcome": item.appeal_outcome,  # None while pending
        "decided_at": appeal_decided.at.isoformat() if appeal_decided else None,
        "reason": appeal_decided.reason if appeal_decided else None,
    }


def _complaint_text(complaint: dict[str, Any]) -> str:
    if complaint["outcome"] is None:
        return f"Your complaint of {complaint['lodged_at'][:10]} is being reviewed."
    return (
        f"Your complaint of {complaint['lodged_at'][:10]} was reviewed by a second person; "
        f"the original decision ({complaint['original_decision']}) was "
        f"{complaint['outcome']}: {complaint['reason']}"
    )


def _redress(item: QueueItem, decided_at: datetime) -> dict[str, Any]:
    can_appeal = item.appealed_at is None
    return {
        "internal_complaint": {
            "available": can_appeal,
            "until": (decided_at + APPEAL_WINDOW).isoformat() if can_appeal else None,
        },
        "out_of_court": OUT_OF_COURT,
        "judicial": JUDICIAL,
    }


def _transparency(item: QueueItem, statement: dict[str, Any], level: str) -> dict[str, Any]:
    """Art. 24(5) submission fields, as the Transparency Database names them."""
    content, ground = statement["content"], statement["ground"]
    lang = content["language"]
    source = (
        "SOURCE_ARTICLE_16"
        if item.reports and item.source == "user_report"
        else ("SOURCE_VOLUNTARY")
    )
    return {
        "puid": statement["statement_id"],
        "decision_visibility": ["DECISION_VISIBILITY_CONTENT_REMOVED"],
        "decision_ground": "DECISION_GROUND_INCOMPATIBLE_CONTENT",
        "incompatible_content_ground": ground["clause"],
        "incompatible_content_explanation": ground["explanation"],
        "content_type": [f"CONTENT_TYPE_{t.upper()}" for t in content["type"]],
        "content_language": lang.upper() if lang and lang != "und" else None,
        "content_date": content["first_seen_at"][:10],
        "application_date": statement["decision"]["decided_at"][:10],
        "decision_facts": statement["facts_and_circumstances"],
        "source_type": source,
        "automated_detection": "Yes" if statement["automated_means"]["detection"] else "No",
        "automated_decision": {
            "fully": "AUTOMATED_DECISION_FULLY",
            "partially": "AUTOMATED_DECISION_PARTIALLY",
            "not": "AUTOMATED_DECISION_NOT_AUTOMATED",
        }[level],
        "territorial_scope": statement["decision"]["territorial_scope"],
    }


__all__ = ["APPEAL_WINDOW", "build_statement", "render_markdown"]
