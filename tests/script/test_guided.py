"""The default writer end to end: the real SmolLM2 weights, constrained decoding, the guided
pipeline, and the same pipeline through `soundstage serve` over the openai backend."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import regex

from soundstage.backends import load_backend
from soundstage.backends.base import Sampling
from soundstage.errors import BackendError, BackendUnavailable, SoundstageError
from soundstage.script.controls import check_controls
from soundstage.script.types import Controls
from soundstage.script.write.guided import GuidedWriter, logline_roles

# Slow on a busy 2-core box (minutes when CI shares it with other work): a wide timeout.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]
# A capitalised first and last name, not "The …" or a title.
NAME = r" (?!The|(A|An|Mr|Mrs|Ms|Dr|Sir|Miss)\b)[A-Z][a-z]{2,7} (Mc|O')?[A-Z][a-z]{2,10}\n"
LOGLINE = "A retired lighthouse keeper discovers that a smuggler has stolen the great lens."


def _local():  # type: ignore[no-untyped-def]
    try:
        return load_backend("local")
    except BackendUnavailable as exc:
        pytest.skip(f"the local writer is not installed: {exc}")


@pytest.fixture(scope="module")
def local():  # type: ignore[no-untyped-def]
    backend = _local()
    yield backend
    backend.close()


def test_constrained_samples_always_match_their_pattern(local) -> None:  # type: ignore[no-untyped-def]
    from soundstage.backends.base import Message
    from soundstage.backends.local import chatml

    prompt = chatml([Message("user", f"Name a character for this story: {LOGLINE}")], "Name:")
    sampling = Sampling(max_tokens=10, temperature=1.0, seed=3, stop=("\n",))
    outs = local.sample(prompt, 4, sampling, NAME)
    assert len(outs) == 4
    for out in outs:
        assert regex.fullmatch(NAME, out.text + "\n"), out.text
    # unconstrained, the same prompt does not always give a two-word capitalised name
    free = local.sample(prompt, 4, sampling)
    assert all(f.completion_tokens > 0 for f in free)


def test_same_seed_same_text_and_prefix_cache_does_not_change_results(local) -> None:  # type: ignore[no-untyped-def]
    sampling = Sampling(max_tokens=12, temperature=0.8, seed=5)
    a = local.sample("The lighthouse keeper said", 2, sampling)
    local.sample("Something else entirely, to evict the cache", 1, sampling)
    b = local.sample("The lighthouse keeper said", 2, sampling)
    assert [x.text for x in a] == [x.text for x in b]


def test_the_local_backend_streams_token_by_token(local) -> None:  # type: ignore[no-untyped-def]
    sampling = Sampling(max_tokens=20, temperature=0.8, seed=7)
    chunks = list(local.stream("The lighthouse keeper said", **vars(sampling)))
    assert len(chunks) > 5 and chunks[-1].finish_reason is not None
    (whole,) = local.sample("The lighthouse keeper said", 1, sampling)
    assert "".join(c.text for c in chunks) == whole.text  # the same sample, in pieces
    assert chunks[-1].completion_tokens == whole.completion_tokens
    # a stop string is never sent, not even its first half
    stopped = Sampling(max_tokens=30, temperature=0.8, seed=7, stop=(" the",))
    text = "".join(c.text for c in local.stream("The lighthouse keeper said", **vars(stopped)))
    assert (
        " the" not in text
        and text == local.sample("The lighthouse keeper said", 1, stopped)[0].text
    )
    # closing the stream early frees the model for the next caller at once
    early = local.stream("The lighthouse keeper said", max_tokens=200, seed=1)
    next(early)
    early.close()
    assert local.runtime.lock.acquire(timeout=1)
    local.runtime.lock.release()


def test_guided_plan_tells_the_loglines_story(local) -> None:  # type: ignore[no-untyped-def]
    writer = GuidedWriter(local)
    sp = writer.plan(LOGLINE, check_controls(Controls(genre="thriller", minutes=3)), seed=1)
    assert sp.title and sp.title.lower() != LOGLINE.lower()
    names = [c.name for c in sp.characters]
    assert len(names) == 3 and len(set(names)) == 3
    # two capitalised words (a fallback from the planner's list may carry accents: Tomás)
    assert all(re.fullmatch(r"[A-Z][^\W\d_]+ (Mc|O')?[A-Z][^\W\d_]+", n) for n in names)
    assert sp.characters[0].role == "protagonist" and sp.characters[1].role == "antagonist"
    # the protagonist's occupation is a phrase of the logline, the description a sentence
    job = sp.characters[0].description.split(". ")[0].split(") ")[1]
    assert job in logline_roles(LOGLINE)
    assert all(c.description.rstrip().endswith((".", "!", "?")) for c in sp.characters)
    assert sp.scenes and all(s.characters for s in sp.scenes)
    assert {s.place for s in sp.scenes} == {p.name for p in sp.places}
    assert all(p.description for p in sp.places)
    scene = sp.scenes[0]
    d = writer.dialogue(sp, scene, seed=1, speeches=3)
    assert d.action, "the scene opens on an action line"
    assert len(d.lines) >= 2
    assert all(line.speaker in scene.characters for line in d.lines)
    assert len({line.text for line in d.lines}) == len(d.lines)  # no repeated speech
    assert any(line.action for line in d.lines)


def test_guided_writer_through_soundstage_serve_and_openai(local) -> None:  # type: ignore[no-untyped-def]
    from soundstage.backends.openai import OpenAIBackend
    from soundstage.web.openai_api import create_openai_app
    from tests.servers import running

    app = create_openai_app(local, None)
    with running(app) as url:
        remote = load_backend(f"openai:{local.model}@{url}/v1?template=chatml")
        assert isinstance(remote, OpenAIBackend) and remote.chat_format == "chatml"
        writer = GuidedWriter(remote, candidates=2)
        sp = writer.plan(LOGLINE, Controls(minutes=1), seed=2)
        remote.close()
    assert sp.title
    assert len(sp.characters) == 3 and all(c.name for c in sp.characters)
    assert all(re.fullmatch(r"\w[\w' -]+", c.name) for c in sp.characters)
    assert sp.scenes and all(s.beat for s in sp.scenes)


def test_corrupt_or_missing_model_file_is_one_clear_error(tmp_path: Path) -> None:
    from soundstage.backends.local import default_gguf, load_runtime, model_card_config

    try:
        real = default_gguf()
    except BackendUnavailable as exc:
        pytest.skip(str(exc))
    bad = tmp_path / "model.gguf"
    shutil.copyfile(real, bad)
    with bad.open("r+b") as fh:
        fh.seek(4096)
        fh.write(b"\0" * 64)
    with pytest.raises(BackendError, match="corrupt"):
        load_runtime(bad, model_card_config()["sha256"])
    with pytest.raises(BackendUnavailable, match="does not exist"):
        load_runtime(tmp_path / "nothing.gguf")
    garbage = tmp_path / "garbage.gguf"
    garbage.write_bytes(b"not a gguf file at all")
    with pytest.raises(BackendError, match="cannot read the model file"):
        load_backend(f"local:{garbage}")


def test_unknown_controls_name_the_valid_choices() -> None:
    with pytest.raises(SoundstageError, match="unknown genre 'westernnn'") as err:
        check_controls(Controls(genre="westernnn"))
    assert "western" in str(err.value)
    with pytest.raises(SoundstageError, match="unknown rating"):
        check_controls(Controls(rating="NC-17"))
    with pytest.raises(SoundstageError, match="unknown tone"):
        check_controls(Controls(tone="grumpy"))
    assert check_controls(Controls(genre="Comedy", rating="pg")).genre == "comedy"
