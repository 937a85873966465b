"""Load test of `soundstage recommend serve`: requests/s and latency percentiles with wrk.

Why wrk: a C load generator leaves the second core to the server; a Python client would be
the bottleneck on a 2-core machine. The server is the real CLI in a subprocess, answering
GET /recommendations/{user_id}?n=10 with explanations for ML-100K users in turn (a known
user every time; `--cold` asks for unknown users instead), signed in with an analyst's token
(`--no-auth` serves without sign-in, for the comparison).

    apt-get install -y --no-install-recommends wrk
    .venv/bin/python benchmarks/rec_serve_load.py [--model ease] [--connections 4,8] [--seconds 15]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from soundstage.accounts import Accounts
from soundstage.recommend.pipeline import train_and_publish
from soundstage.recommend.registry import Registry
from soundstage.recommend.sources import read_log
from soundstage.settings import load_settings
from soundstage.store import open_store

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "rec" / "ml-100k"
LUA = """
counter = 0
wrk.headers["Authorization"] = "%(authorization)s"
request = function()
  counter = counter + 1
  local u = (counter %% %(users)d) + 1
  return wrk.format("GET", "/recommendations/%(prefix)s" .. u .. "?n=10%(query)s")
end
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="ease")
    parser.add_argument("--connections", default="4,8")
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--diversity", type=float, default=0.0)
    parser.add_argument("--cold", action="store_true", help="unknown users (cold start)")
    parser.add_argument("--workers", type=int, default=1, help="server processes")
    parser.add_argument("--no-auth", action="store_true", help="serve without sign-in")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt-get install -y --no-install-recommends wrk")
    home = Path(tempfile.mkdtemp(prefix="rec-load-"))
    log, items, _ = read_log(DATA)
    done = train_and_publish(
        log, items, Registry(home / "recommend"), model=args.model, min_value=4
    )
    print(f"trained {done.model} ({done.users} users × {done.items} items) → {done.version}")
    # One account sends every request: lift its per-account budget (600 a minute by default).
    env = {
        **os.environ,
        "SOUNDSTAGE_DATA_DIR": str(home),
        "COLUMNS": "200",
        "SOUNDSTAGE_RATE_LIMIT_PER_MINUTE": "0",
    }
    authorization = ""
    if not args.no_auth:
        engine = open_store(load_settings(data_dir=str(home)))
        authorization = f"Bearer {Accounts(engine).add('bench', ['analyst']).token}"
        engine.dispose()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "soundstage",
            "recommend",
            "serve",
            "--port",
            "0",
            "--workers",
            str(args.workers),
            *(["--no-auth"] if args.no_auth else []),
        ],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert server.stdout is not None
        match = re.search(r"http://[\d.]+:\d+", server.stdout.readline())
        if not match:
            sys.exit("server did not print its URL")
        query = f"&diversity={args.diversity}" if args.diversity else ""
        script = home / "users.lua"
        prefix = "new-user-" if args.cold else ""
        script.write_text(
            LUA
            % {
                "users": done.users,
                "prefix": prefix,
                "query": query,
                "authorization": authorization,
            }
        )
        subprocess.run(
            ["wrk", "-t1", "-c2", "-d3s", "-s", str(script), match.group(0)],
            capture_output=True,
            check=True,
        )  # warm-up
        print("| connections | requests/s | p50 ms | p90 ms | p99 ms | errors |")
        print("|---|---|---|---|---|---|")
        for conns in args.connections.split(","):
            out = subprocess.run(
                [
                    "wrk",
                    "-t1",
                    f"-c{conns}",
                    f"-d{args.seconds}s",
                    "--latency",
                    "-s",
                    str(script),
                    match.group(0),
                ],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
            found = re.findall(r"^\s+(50|90|99)%\s+([\d.]+)(ms|us|s)", out, re.M)
            pct = {p: _ms(v, unit) for p, v, unit in found}
            errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
            print(
                f"| {conns} | {float(rps.group(1)) if rps else 0:.0f} | {pct.get('50', 0):.1f} | "
                f"{pct.get('90', 0):.1f} | {pct.get('99', 0):.1f} | "
                f"{errors.group(1) if errors else 0} |"
            )
    finally:
        server.terminate()
        server.wait(10)
        shutil.rmtree(home, ignore_errors=True)


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


if __name__ == "__main__":
    main()
