"""The release gate: moderate a generated screenplay before `produce` exports it.

Why per line: a reviewer needs to know *which* speech in *which* scene crossed a threshold, and
one hateful line in a 90-page script must not be averaged away. Every text the model wrote is
checked — title, logline, character names and descriptions, scene beats, action and each
speech — under a policy (by default ``release``: fiction quotes villains, so threats and
insults are flagged for a human read and only hate or explicit content blocks).

`GateResult.stop` is true when something is blocked and the policy's (or the caller's) gate mode
is ``stop``; `produce` then writes ``moderation.json`` (what was blocked and why) and no
screenplay files, and exits non-zero.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from soundstage.moderate.service import Moderator
from soundstage.moderate.types import SEVERITY, Decision, Verdict
from soundstage.script.types import Screenplay

__all__ = ["GateResult", "check_release", "screenplay_texts"]


@dataclass
class GateResult:
    policy: str
    model: str
    mode: str  # stop | report
    checked: int
    flagged: list[tuple[str, str, Verdict]] = field(default_factory=list)  # (where, text, v)

    @property
    def decision(self) -> Decision:
        worst: Decision = "allow"
        for _where, _text, v in self.flagged:
            if SEVERITY[v.decision] > SEVERITY[worst]:
                worst = v.decision
        return worst

    @property
    def stop(self) -> bool:
        return self.mode == "stop" and self.decision == "block"

    def summary(self) -> str:
        counts = {d: sum(v.decision == d for _, _, v in self.flagged) for d in ("review", "block")}
        return (
            f"{self.checked} texts checked under {self.policy}: "
            f"{counts['block']} blocked, {counts['review']} for review"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "policy": self.policy,
            "model": self.model,
            "mode": self.mode,
            "checked": self.checked,
            "decision": self.decision,
            "stopped_export": self.stop,
            "flagged": [
                {"where": where, "text": text, **v.to_json()} for where, text, v in self.flagged
            ],
        }

    def markdown(self) -> str:
        out = ["## Moderation (release gate)", "", f"- {self.summary()}; model {self.model}"]
        if not self.flagged:
            out.append("- Nothing crossed a review threshold.")
        else:
            out += ["", "| where | decision | why | text |", "|---|---|---|---|"]
            for where, text, v in self.flagged:
                why = "; ".join(f"{h.category} {h.score:.2f} ≥ {h.threshold:g}" for h in v.hits)
                why = why or ("unsupported language" if not v.supported else "")
                short = " ".join(text.split())[:80].replace("|", "\\|")
                out.append(f"| {where} | {v.decision} | {why} | {short} |")
        out += [
            "",
            "Scores pick what a person should read; they are not a verdict on the work.",
            "",
        ]
        return "\n".join(out)


def screenplay_texts(sp: Screenplay) -> list[tuple[str, str]]:
    """(where, text) for everything the writers' room generated, in reading order."""
    texts = [("title", sp.title), ("logline", sp.logline)]
    texts += [(f"character {c.name}", f"{c.name}. {c.description}") for c in sp.characters]
    names = {c.id: c.cue for c in sp.characters}
    for number, scene in enumerate(sp.scenes, 1):
        texts.append((f"scene {number} beat", scene.beat))
        dialogue = sp.dialogue.get(scene.id)
        if dialogue is None:
            continue
        if dialogue.action:
            texts.append((f"scene {number} action", dialogue.action))
        for i, line in enumerate(dialogue.lines, 1):
            who = names.get(line.speaker, line.speaker)
            texts.append((f"scene {number} line {i} ({who})", line.text))
            if line.action:
                texts.append((f"scene {number} action after line {i}", line.action))
    return [(where, text) for where, text in texts if text and text.strip()]


def check_release(sp: Screenplay, moderator: Moderator, mode: str | None = None) -> GateResult:
    texts = screenplay_texts(sp)
    verdicts = moderator.check_many([t for _, t in texts])
    result = GateResult(
        policy=moderator.policy.id,
        model=moderator.model_id,
        mode=mode or moderator.policy.gate,
        checked=len(texts),
    )
    result.flagged = [
        (where, text, v)
        for (where, text), v in zip(texts, verdicts, strict=True)
        if v.decision != "allow"
    ]
    return result
