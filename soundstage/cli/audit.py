"""Commands: `soundstage audit …` — representation and fairness audits with reports."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from soundstage.cli._app import app, console, console_err, state
from soundstage.errors import SoundstageError

if TYPE_CHECKING:
    from collections.abc import Callable

    from soundstage.audit.counterfactual import Written
    from soundstage.audit.report import Report
    from soundstage.backends.base import TextBackend
    from soundstage.script.formats.elements import Document
    from soundstage.script.types import Controls, Screenplay

audit_app = typer.Typer(
    help="Audit representation and fairness: scripts (more to come).", no_args_is_help=True
)
app.add_typer(audit_app, name="audit")
PDF_OPTION = typer.Option(
    False, "--pdf", help="Also write audit.pdf (with --out; needs playwright and Chromium)."
)


@audit_app.command("script")
def audit_script_command(
    script: str = typer.Argument(..., help="A .fountain, .fdx or .json script, or a project id."),
    cast: Path | None = typer.Option(
        None, "--cast", help="CSV with name,gender[,age][,cue]: the declared cast of a file."
    ),
    out: Path | None = typer.Option(
        None, "--out", "-o", help="Write audit.html and audit.json here."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print every figure as one JSON object."),
    pdf: bool = PDF_OPTION,
) -> None:
    """Who speaks and how much, by gender and age; Bechdel–Wallace; beside the Pudding and
    Annenberg figures. Gender and age come from the declared cast only."""
    _pdf_needs_out(pdf, out)
    from soundstage.audit.reports.script import script_report
    from soundstage.audit.script import audit_script, cast_from_screenplay, read_cast

    doc, screenplay = _load(script)
    people = cast_from_screenplay(screenplay) if screenplay is not None else []
    if cast is not None:
        people = read_cast(cast) + people  # the file's declarations come first
    audit = audit_script(doc, people, title=screenplay.title if screenplay else "")
    report = script_report(audit)
    if out is not None:
        _write(out, report, pdf)
        if not as_json:
            console.print(f"wrote {out / 'audit.html'} and audit.json", highlight=False)
    if as_json:
        typer.echo(json.dumps(report.data, ensure_ascii=False))
        return
    console.print(report.verdict, highlight=False)
    for note in report.notes:
        console.print(f"[yellow]note:[/] {note}", highlight=False)


@audit_app.command("corpus")
def audit_corpus_command(
    folder: Path = typer.Argument(..., help="A folder of .fountain, .fdx or .json scripts."),
    out: Path | None = typer.Option(
        None, "--out", "-o", help="Write audit.html and audit.json here."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print every figure as one JSON object."),
    pdf: bool = PDF_OPTION,
) -> None:
    """The Pudding's figures over many scripts: pooled and median women's share of words,
    balance bands, female leads, women among characters, words by age. Each script's cast
    comes from NAME.cast.csv beside it (name,gender[,age][,cue])."""
    _pdf_needs_out(pdf, out)
    from rich.progress import Progress

    from soundstage.audit.corpus import audit_corpus
    from soundstage.audit.reports.corpus import corpus_report
    from soundstage.audit.script import audit_script, read_cast
    from soundstage.cli.write_files import READERS, read_script

    if not folder.is_dir():
        raise SoundstageError(f"{folder}: not a folder", hint="a folder of scripts")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in READERS and p.is_file())
    if not files:
        raise SoundstageError(
            f"{folder}: no scripts in the folder", hint=f"files ending in {', '.join(READERS)}"
        )
    audits = []
    with Progress(console=console_err if as_json else console, transient=True) as bar:
        task = bar.add_task("auditing scripts", total=len(files))
        for path in files:
            doc, screenplay = read_script(path)
            cast_file = path.with_name(path.stem + ".cast.csv")
            people = read_cast(cast_file) if cast_file.exists() else []
            title = screenplay.title if screenplay else (doc.title() or path.stem)
            audits.append(audit_script(doc, people, title=title))
            bar.advance(task)
    _finish(corpus_report(audit_corpus(audits), str(folder)), out, as_json, pdf)


@audit_app.command("generator")
def audit_generator_command(
    loglines: Path = typer.Option(..., "--loglines", help="A text file, one logline per line."),
    swap: str = typer.Option("gender", "--swap", help="What to swap: gender or ethnicity."),
    out: Path | None = typer.Option(None, "--out", "-o", help="Report and every script here."),
    model: str | None = typer.Option(None, "--model", help="Writer backend (default: settings)."),
    minutes: float = typer.Option(2.0, "--minutes", help="Runtime of each script."),
    seed: int = typer.Option(1, "--seed", help="The same seed for both scripts of a pair."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
    pdf: bool = PDF_OPTION,
) -> None:
    """Counterfactual pairs: each logline written as given and with its protagonist's gender
    swapped; how dialogue share, Bechdel and the moderation gate move."""
    _pdf_needs_out(pdf, out)
    import tempfile

    from rich.progress import Progress

    from soundstage.audit.counterfactual import read_loglines, run_pairs
    from soundstage.audit.reports.generator import generator_report
    from soundstage.backends import load_backend
    from soundstage.script.controls import check_controls
    from soundstage.script.types import Controls

    if swap not in ("gender", "ethnicity"):
        raise SoundstageError(f"--swap {swap!r} is not a swap", hint="gender or ethnicity")
    try:
        text = loglines.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SoundstageError(f"{loglines}: cannot read the loglines ({exc})") from None
    lines = read_loglines(text, str(loglines))
    controls = check_controls(Controls(minutes=minutes))
    settings = state.settings()
    scratch = tempfile.TemporaryDirectory(prefix="soundstage-audit-")
    folder = out / "scripts" if out is not None else Path(scratch.name)
    with (
        load_backend(model or settings.model, settings) as backend,
        Progress(console=console_err if as_json else console) as bar,
    ):
        task = bar.add_task("pairs", total=1.0)
        failed: list[tuple[str, str]] = []
        pairs = run_pairs(
            lines,
            _writer(backend, controls, seed, folder),
            progress=lambda done, message: bar.update(task, completed=done, description=message),
            swap=swap,
            failed=failed,
        )
    scratch.cleanup()
    for logline, why in failed:
        console_err.print(f"[yellow]left out:[/] {logline} ({why})", highlight=False)
    if failed and not pairs:
        raise SoundstageError(f"the writer failed on every logline: {failed[0][1]}")
    report = generator_report(pairs, swap)
    report.notes += [f"Left out, the writer failed: “{ln}” ({why})" for ln, why in failed]
    report.data["failed"] = [{"logline": ln, "error": why} for ln, why in failed]
    if out is not None:
        _write(out, report, pdf)
    if as_json:
        typer.echo(json.dumps(report.data["summary"], ensure_ascii=False))
        return
    console.print(report.verdict, highlight=False)


@audit_app.command("moderation")
def audit_moderation_command(
    data: Path = typer.Option(..., "--data", help="A CSV of labelled texts."),
    text_column: str = typer.Option(..., "--text-column"),
    label_column: str = typer.Option(
        ..., "--label-column", help="1/0, true/false, BAD/NOT_BAD, or a score (≥ 0.5 is toxic)."
    ),
    policy: str = typer.Option("community", "--policy", help="A policy name or TOML file."),
    tier: str = typer.Option("fast", "--tier", help="fast, cascade or ensemble."),
    terms: str = typer.Option("", "--terms", help="Comma-separated identity terms (default: 50)."),
    sample: int = typer.Option(0, "--sample", help="Audit a seeded sample of N rows."),
    min_group: int = typer.Option(
        10, "--min-group", help="Rates only for identities mentioned by ≥ N texts."
    ),
    out: Path | None = typer.Option(
        None, "--out", "-o", help="Write audit.html and audit.json here."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print every figure as one JSON object."),
    pdf: bool = PDF_OPTION,
) -> None:
    """Error rates by identity mentioned (FPR/FNR at the policy's operating point, with
    intervals), decision rates, subgroup/BPSN/BNSP AUCs and the worst examples."""
    _pdf_needs_out(pdf, out)
    from rich.progress import Progress

    from soundstage.audit.moderation import audit_moderation, read_labelled
    from soundstage.audit.reports.moderation import moderation_report
    from soundstage.moderate.bias import MADLIBS_TERMS
    from soundstage.moderate.service import Moderator

    texts, labels = read_labelled(data, text_column, label_column, limit=sample)
    moderator = Moderator.load(policy, explain=False, tier=tier)
    chosen = [t.strip() for t in terms.split(",") if t.strip()] or list(MADLIBS_TERMS)
    with Progress(console=console_err if as_json else console) as bar:
        task = bar.add_task("moderating", total=len(texts))
        audit = audit_moderation(
            texts,
            labels,
            moderator,
            terms=chosen,
            source=data.name,
            min_group=min_group,
            progress=lambda done, total: bar.update(task, completed=done),
        )
    report = moderation_report(audit)
    _finish(report, out, as_json, pdf)


@audit_app.command("recs")
def audit_recs_command(
    train: Path = typer.Option(..., "--train", help="CSV: user_id,item_id[,value][,timestamp]."),
    test: Path = typer.Option(..., "--test", help="Held-out events, same columns."),
    items: Path = typer.Option(..., "--items", help="Catalogue with genres (and kinds)."),
    users: Path | None = typer.Option(None, "--users", help="users.csv with attributes."),
    group_by: str = typer.Option("gender", "--group-by", help="users.csv column for groups."),
    model: str = typer.Option("ease", "--model", help="Any `recommend eval` model."),
    k: int = typer.Option(10, "--k", help="Cut-off of the lists."),
    lambdas: str = typer.Option(
        "0,0.3,0.5,0.7,0.9", "--lambdas", help="Re-ranker strengths to measure (0 first)."
    ),
    out: Path | None = typer.Option(
        None, "--out", "-o", help="Write audit.html and audit.json here."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print every figure as one JSON object."),
    pdf: bool = PDF_OPTION,
) -> None:
    """Exposure by popularity and kind, calibration, accuracy per user group, and what a
    calibrated re-ranker costs and buys at each λ."""
    _pdf_needs_out(pdf, out)
    from soundstage.audit.recs import audit_recs
    from soundstage.audit.reports.recs import recs_report
    from soundstage.cli.recommend import user_group_labels
    from soundstage.recommend.data import genre_matrix, read_csv
    from soundstage.recommend.models import model_names
    from soundstage.recommend.pipeline import build
    from soundstage.recommend.sources import read_items

    steps = _lambdas(lambdas)
    if model not in model_names():
        raise SoundstageError(f"unknown --model {model!r}", hint=", ".join(model_names()))
    if not 1 <= k <= 100:
        raise SoundstageError(f"--k {k} is outside 1..100")
    train_log = read_csv(train)
    test_log = read_csv(test).with_index(train_log.user_ids, train_log.item_ids).inter
    if len(test_log) == 0:
        raise SoundstageError(f"{test}: no test event has a user and an item seen in {train}")
    catalog = read_items(items)
    genres = genre_matrix(catalog, train_log.item_ids)
    if genres.shape[1] == 0:
        raise SoundstageError(f"{items}: no genres, so calibration cannot be measured")
    groups = user_group_labels(users, group_by, train_log.user_ids) if users else None
    X = train_log.matrix()
    with console_err.status(f"fitting {model} and auditing {len(steps)} re-ranker strengths"):
        built = build(model, X, train_log.item_ids, catalog)
        by_id = {it.id: it.kind for it in catalog}
        kinds = [by_id.get(i, "unknown") for i in train_log.item_ids]
        audit = audit_recs(
            built.model, X, test_log.matrix(), genres, name=model, groups=groups,
            kinds=kinds, k=k, lambdas=steps,
        )  # fmt: skip
    report = recs_report(audit, source=train.parent.name or train.name)
    _finish(report, out, as_json, pdf)


def _pdf_needs_out(pdf: bool, out: Path | None) -> None:
    if pdf and out is None:
        raise SoundstageError("--pdf writes audit.pdf beside audit.html", hint="add --out DIR")


def _finish(report: Report, out: Path | None, as_json: bool, pdf: bool = False) -> None:
    """Write the report to OUT if asked; print every figure (--json) or the verdict."""
    if out is not None:
        _write(out, report, pdf)
    if as_json:
        typer.echo(json.dumps(report.data, ensure_ascii=False))
        return
    console.print(report.verdict, highlight=False)


def _lambdas(text: str) -> list[float]:
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise SoundstageError(
            f"--lambdas {text!r}: comma-separated numbers, e.g. 0,0.5,0.9"
        ) from None
    if not values or values[0] != 0 or any(not 0 <= v <= 1 for v in values):
        raise SoundstageError(f"--lambdas {text!r}: values in 0..1, starting with 0")
    return values


def _writer(
    backend: TextBackend, controls: Controls, seed: int, folder: Path
) -> Callable[[str], Written]:
    """`write` for the generator audit: one `produce` run (no score, gate reporting) per
    logline, its package in FOLDER/NN."""
    from soundstage.audit.counterfactual import Written
    from soundstage.produce import produce

    count = iter(range(1, 10_000))

    def write(logline: str) -> Written:
        p = produce(
            logline,
            folder / f"{next(count):03d}",
            backend,
            controls,
            seed=seed,
            score=False,
            gate="report",
        )
        flagged = len(p.moderation.flagged) if p.moderation is not None else 0
        decision = p.moderation.decision if p.moderation is not None else "allow"
        return Written(logline, p.screenplay, p.document, flagged, decision)

    return write


def _write(out: Path, report: Report, pdf: bool = False) -> None:
    from soundstage.audit.report import write_report
    from soundstage.export import Exporter
    from soundstage.provenance.credentials import Provenance
    from soundstage.provenance.signing import sealer

    exporter = Exporter(out)
    exporter.seal, _ = sealer(state.settings(), Provenance(package=out.name))
    write_report(exporter, report, pdf=pdf)
    exporter.write_manifest()


def _load(script: str) -> tuple[Document, Screenplay | None]:
    """A script file, or a project in the store (anything that is not an existing path and
    has no script suffix)."""
    from soundstage.cli.write_files import READERS, read_script

    path = Path(script)
    if path.exists() or path.suffix.lower() in READERS:
        return read_script(path)
    from soundstage.script.render import render
    from soundstage.script.room import load_draft
    from soundstage.settings import ensure_data_dir
    from soundstage.store import open_store

    settings = state.settings()
    ensure_data_dir(settings)
    engine = open_store(settings)
    try:
        draft = load_draft(engine, script)
    except SoundstageError as exc:
        raise SoundstageError(
            f"{script}: no such script file or project ({exc.message})",
            hint="a .fountain, .fdx or .json file, or a project id (`soundstage write list`)",
        ) from None
    finally:
        engine.dispose()
    return render(draft.screenplay), draft.screenplay
