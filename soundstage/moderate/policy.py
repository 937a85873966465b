"""Moderation policies as files: per surface, per category thresholds → allow / review / block.

Why files: trust & safety teams version their rules next to their community guidelines and need
different rules for kids' and adults' surfaces, chat and reviews (notes/moderate.md §5, Coral
talk #4594). A decision records the policy's ``name@version`` so it can be replayed later.

A policy is TOML (or YAML when PyYAML is installed)::

    name = "community"
    version = "2026-11-26"
    languages = ["en"]              # what the classifier may score
    unsupported_language = "review" # decision for other languages: allow | review | block
    gate = "stop"                   # produce: a blocked result stops the export (or "report")

    [defaults]                      # every surface, unless the surface overrides a category
    toxicity = { review = 0.5, block = 0.95, clause = "Guidelines §2 Be civil" }

    [surfaces.kids]
    toxicity = { review = 0.2, block = 0.6 }

A category without ``block`` never blocks automatically; one without ``review`` goes straight from
allow to block. Scores at or above a threshold trigger it. Mistakes (an unknown category, a
threshold outside 0..1, review above block) are one-line errors naming the file and line.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from soundstage.errors import FormatError, SoundstageError
from soundstage.moderate.types import CATEGORIES, DECISIONS, SEVERITY, Decision, RuleHit

__all__ = ["Policy", "Rule", "builtin_policies", "decide", "load_policy", "read_policy"]

BUILTIN_DIR = "policies"
TOP_KEYS = {"name", "version", "description", "languages", "unsupported_language", "gate"}
TOP_KEYS |= {"defaults", "surfaces"}
RULE_KEYS = {"review", "block", "clause"}


@dataclass(frozen=True)
class Rule:
    category: str
    review: float | None
    block: float | None
    clause: str


@dataclass(frozen=True)
class Policy:
    name: str
    version: str
    rules: dict[str, dict[str, Rule]]  # surface ("" = defaults) → category → rule
    languages: frozenset[str] = frozenset({"en"})
    unsupported_language: Decision = "review"
    gate: str = "stop"
    description: str = ""
    source: str = ""
    surfaces: tuple[str, ...] = field(default=())

    @property
    def id(self) -> str:
        return f"{self.name}@{self.version}"

    def rules_for(self, surface: str = "") -> dict[str, Rule]:
        if surface and surface not in self.rules:
            known = ", ".join(self.surfaces) or "none"
            raise SoundstageError(
                f"policy {self.id} has no surface {surface!r}",
                hint=f"surfaces in {self.source or self.name}: {known}",
            )
        merged = dict(self.rules.get("", {}))
        merged.update(self.rules.get(surface, {}) if surface else {})
        return merged


def decide(
    policy: Policy, scores: dict[str, float], surface: str = "", supported: bool = True
) -> tuple[Decision, list[RuleHit]]:
    """The strictest outcome any category reaches, and every threshold that was crossed."""
    hits: list[RuleHit] = []
    for category, rule in policy.rules_for(surface).items():
        score = scores.get(category)
        if score is None:
            continue
        for outcome, threshold in (("block", rule.block), ("review", rule.review)):
            if threshold is not None and score >= threshold:
                hits.append(RuleHit(category, round(score, 4), threshold, outcome, rule.clause))  # type: ignore[arg-type]
                break
    decision: Decision = "allow"
    for hit in hits:
        if SEVERITY[hit.outcome] > SEVERITY[decision]:
            decision = hit.outcome
    if not supported and SEVERITY[policy.unsupported_language] > SEVERITY[decision]:
        decision = policy.unsupported_language
    hits.sort(key=lambda h: (-SEVERITY[h.outcome], -h.score))
    return decision, hits


def builtin_policies() -> list[str]:
    folder = resources.files("soundstage.moderate") / BUILTIN_DIR
    return sorted(p.name.rsplit(".", 1)[0] for p in folder.iterdir() if p.name.endswith(".toml"))


def load_policy(spec: str | Path = "community") -> Policy:
    """A built-in policy by name (`community`, `kids`, `release`) or a .toml/.yaml file."""
    text, source, yaml = read_policy(spec)
    return parse_policy(text, source, yaml=yaml)


def read_policy(spec: str | Path) -> tuple[str, str, bool]:
    """(text, source name, is YAML) of a policy, unparsed — Spark ships the text to executors."""
    path = Path(spec)
    if isinstance(spec, str) and not path.suffix and spec in builtin_policies():
        text = (resources.files("soundstage.moderate") / BUILTIN_DIR / f"{spec}.toml").read_text()
        return text, f"<builtin:{spec}>", False
    if not path.is_file():
        raise SoundstageError(
            f"no policy {str(spec)!r}: not a built-in name and no such file",
            hint=f"built-in policies: {', '.join(builtin_policies())}; or pass a .toml file",
        )
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FormatError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise SoundstageError(f"cannot read policy {path}: {exc.strerror or exc}") from None
    return text, str(path), path.suffix.lower() in (".yaml", ".yml")


def parse_policy(text: str, source: str, *, yaml: bool) -> Policy:
    data = _read_yaml(text, source) if yaml else _read_toml(text, source)
    lines = text.splitlines()

    def fail(key: str, what: str, table: str = "") -> FormatError:
        return FormatError.at(Path(source), _line_of(lines, key, table), what)

    for key in data:
        if key not in TOP_KEYS:
            raise fail(key, f"unknown key {key!r} (known: {', '.join(sorted(TOP_KEYS))})")
    name, version = str(data.get("name", "")).strip(), str(data.get("version", "")).strip()
    if not name or not version:
        raise fail("name" if not name else "version", "a policy needs a `name` and a `version`")
    unsupported = data.get("unsupported_language", "review")
    if unsupported not in DECISIONS:
        raise fail("unsupported_language", f"unsupported_language must be one of {DECISIONS}")
    gate = data.get("gate", "stop")
    if gate not in ("stop", "report"):
        raise fail("gate", f"gate must be 'stop' or 'report', got {gate!r}")
    languages = data.get("languages", ["en"])
    if not isinstance(languages, list) or not all(isinstance(x, str) for x in languages):
        raise fail("languages", "languages must be a list of language codes")
    rules: dict[str, dict[str, Rule]] = {"": _rules(data.get("defaults", {}), "defaults", fail)}
    surfaces = data.get("surfaces", {})
    if not isinstance(surfaces, dict):
        raise fail("surfaces", "`surfaces` must be a table of surface → categories")
    for surface, table in surfaces.items():
        rules[surface] = _rules(table, f"surfaces.{surface}", fail)
    return Policy(
        name=name,
        version=version,
        rules=rules,
        languages=frozenset(languages),
        unsupported_language=unsupported,
        gate=gate,
        description=str(data.get("description", "")),
        source=source,
        surfaces=tuple(surfaces),
    )


def _rules(table: Any, where: str, fail: Any) -> dict[str, Rule]:
    if not isinstance(table, dict):
        raise fail(where.split(".")[-1], f"[{where}] must be a table of category → thresholds")

    def at(category: str, what: str) -> FormatError:
        return fail(category, f"[{where}] {what}", where)

    rules: dict[str, Rule] = {}
    for category, spec in table.items():
        if category not in CATEGORIES:
            known = ", ".join(CATEGORIES)
            raise at(category, f"unknown category {category!r} (known: {known})")
        if isinstance(spec, int | float) and not isinstance(spec, bool):
            spec = {"review": spec}
        if not isinstance(spec, dict):
            raise at(category, f"{category} must be {{ review = …, block = … }}")
        for key in spec:
            if key not in RULE_KEYS:
                raise at(category, f"{category}: unknown key {key!r}")
        thresholds: dict[str, float | None] = {}
        for key in ("review", "block"):
            value = spec.get(key)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1
            ):
                raise at(category, f"{category}.{key} must be in 0..1, got {value!r}")
            thresholds[key] = None if value is None else float(value)
        review, block = thresholds["review"], thresholds["block"]
        if review is None and block is None:
            raise at(category, f"{category} needs a review or block threshold")
        if review is not None and block is not None and review > block:
            raise at(category, f"{category}: review {review} is above block {block}")
        clause = str(spec.get("clause", f"{CATEGORIES[category].label} policy"))
        rules[category] = Rule(category, review, block, clause)
    return rules


def _read_toml(text: str, source: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"line (\d+)", str(exc))
        line = int(match.group(1)) if match else None
        raise FormatError.at(Path(source), line, f"not valid TOML: {exc}") from None


def _read_yaml(text: str, source: str) -> dict[str, Any]:
    try:
        import yaml  # type: ignore[import-untyped,unused-ignore]  # typed from PyYAML 6.0.4
    except ImportError:
        raise SoundstageError(
            f"{source}: YAML policies need PyYAML", hint="pip install PyYAML, or use TOML"
        ) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise FormatError.at(Path(source), line, f"not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise FormatError.at(Path(source), 1, "a policy must be a mapping")
    bad = _non_text_key(data)
    if bad is not None:  # YAML allows `? ` keys, numbers, null: TOML never does (fuzzer)
        raise FormatError.at(Path(source), None, f"a policy's keys must be text, not {bad!r}")
    return data


def _non_text_key(value: Any) -> Any:
    """The first key of a mapping inside `value` that is not a string (None if every one is)."""
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                return key if key is not None else "null"
            found = _non_text_key(item)
            if found is not None:
                return found
    if isinstance(value, list):
        for item in value:
            found = _non_text_key(item)
            if found is not None:
                return found
    return None


def _line_of(lines: list[str], key: str, table: str = "") -> int | None:
    """The line defining `key`, looking only after `table`'s header when one is given."""
    pattern = re.compile(rf"^\s*(\[.*\b{re.escape(key)}\b.*\]|[\"']?{re.escape(key)}[\"']?\s*[=:])")
    start = 0
    if table:
        last = table.split(".")[-1]
        header = re.compile(rf"^\s*(\[{re.escape(table)}\]|{re.escape(last)}\s*:)")
        start = next((i for i, line in enumerate(lines) if header.search(line)), 0)
    for number, line in enumerate(lines[start:], start + 1):
        if pattern.search(line):
            return number
    return None
