"""The HTTP contract, fuzzed: schemathesis reads /openapi.json from a real server (uvicorn on
127.0.0.1, every router mounted, a trained recommender, an admin's token) and sends it
generated requests, valid and not; none may get a 5xx. Slow (~75 s)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from conftest import FixedTextTestBackend
from servers import running

from soundstage.accounts import Accounts
from soundstage.settings import Settings
from soundstage.store import open_store
from soundstage.web.app import create_app
from soundstage.web.auth import install_auth


def _publish_a_recommender(settings: Settings) -> None:
    from soundstage.recommend.data import Item
    from soundstage.recommend.models import make
    from soundstage.recommend.registry import Registry

    items = [
        Item(id=f"i{i}", title=f"Title {i}", kind="movie", genres=("Drama",)) for i in range(8)
    ]
    X = sp.csr_matrix(np.eye(8)[[0, 1, 2, 3, 4, 5, 6, 7, 0, 1]])
    users = [f"u{i}" for i in range(10)]
    registry = Registry(settings.data_dir / "recommend")
    registry.publish(make("ease", lam=1.0).fit(X), X, users, [it.id for it in items], items)


@pytest.mark.slow
def test_no_generated_request_gets_a_server_error(settings: Settings, tmp_path: Path) -> None:
    st = shutil.which("st", path=str(Path(sys.executable).parent))
    if st is None:
        pytest.skip("schemathesis is not installed (the dev extra has it)")
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    _publish_a_recommender(settings)
    engine = open_store(settings)
    accounts = Accounts(engine)
    token = accounts.add("root", ["admin"]).token
    app = create_app(settings, FixedTextTestBackend(), accounts=accounts)
    install_auth(app, accounts, per_minute=0)  # one account sends everything
    report = tmp_path / "schemathesis.json"
    with running(app) as url:
        command = [st, "run", f"{url}/openapi.json", "-H", f"Authorization: Bearer {token}"]
        command += ["-c", "not_a_server_error", "-n", "20", "--seed", "1"]
        command += ["--report", "json", "--report-json-path", str(report)]
        done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    engine.dispose()
    result = json.loads(report.read_text())
    assert done.returncode == 0, done.stdout[-3000:]
    assert result["operations"]["tested"] >= 20
    assert result["test_cases"]["generated"] >= 1000
    assert result["test_cases"]["with_failures"] == 0
