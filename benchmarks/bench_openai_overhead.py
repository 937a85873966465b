"""Client overhead of `OpenAIBackend.complete` against raw httpx POSTs of the same body.

The `openai:` backend adds request building, retries bookkeeping and response parsing on top
of one HTTP call; the goal is that this costs under 5% of a request's latency. Each round
sends the same non-streaming `/v1/completions` body three ways (the first two interleaved so
that server drift hits both alike):

    backend      OpenAIBackend.complete()                  (pooled connection)
    raw client   httpx.Client.post(...).json()             (pooled connection)  <- the fair baseline
    raw post     httpx.post(...).json()                    (new connection each time)

Besides latency it reports the CPU time this process spent per request, which is the
client's own cost without the server's (the server runs in another process).

How to run (from the repository root, venv active):

    # against a server you started yourself, e.g. the embedded model:
    soundstage serve --model embedded --port 8000 &
    python benchmarks/bench_openai_overhead.py --url http://127.0.0.1:8000/v1 -n 300

    # or let the script start a server in a subprocess:
    python benchmarks/bench_openai_overhead.py --spawn fixed -n 1000    # no model: pure HTTP cost
    python benchmarks/bench_openai_overhead.py --spawn embedded -n 300  # `soundstage serve`

`--spawn fixed` serves a fixed-reply backend defined below, so the numbers show the client's
cost against the smallest possible server time (the worst case for an overhead percentage).
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx

from soundstage.backends import Chunk, Sampling, TextBackend
from soundstage.backends.openai import OpenAIBackend


@dataclass
class FixedReplyBackend(TextBackend):
    """Answers every prompt with the same few words; used by `--spawn fixed`."""

    model: str = "fixed-reply"

    def _stream(self, prompt: str, sampling: Sampling) -> Iterator[Chunk]:
        words = [" the", " quick", " brown", " fox"][: sampling.max_tokens]
        for word in words:
            yield Chunk(word)
        yield Chunk("", "length", len(prompt.split()), len(words))


def serve_fixed(port: int) -> None:
    import uvicorn

    from soundstage.web.openai_api import create_openai_app

    uvicorn.run(
        create_openai_app(FixedReplyBackend()), host="127.0.0.1", port=port, log_level="warning"
    )


def spawn(what: str) -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    if what == "fixed":
        command = [sys.executable, __file__, "--serve-fixed", str(port)]
    else:
        command = [
            sys.executable,
            "-m",
            "soundstage",
            "serve",
            "--model",
            what,
            "--port",
            str(port),
        ]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, env=os.environ.copy())
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"server exited with status {proc.returncode}")
        try:
            httpx.get(f"{url}/healthz", timeout=1).raise_for_status()
            return proc, f"{url}/v1"
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    sys.exit("server did not start within 60 s")


def summary(name: str, seconds: list[float]) -> tuple[str, float]:
    ms = sorted(s * 1000 for s in seconds)
    mean = statistics.fmean(ms)
    p50 = ms[len(ms) // 2]
    p99 = ms[min(len(ms) - 1, round(0.99 * (len(ms) - 1)))]
    return f"{name:<11} mean {mean:8.3f} ms   p50 {p50:8.3f} ms   p99 {p99:8.3f} ms", mean


def bench(url: str, model: str | None, n: int, warmup: int, max_tokens: int) -> None:
    if model is None:
        model = httpx.get(f"{url}/models").json()["data"][0]["id"]
    backend = OpenAIBackend(model=model, spec=f"openai:{model}@{url}", base_url=url, timeout=60)
    sampling = Sampling(max_tokens=max_tokens, temperature=0.0, seed=0)
    prompt = "INT. LIGHTHOUSE - NIGHT\n\nThe keeper climbs the stairs."
    body = backend.completion_body(prompt, sampling, stream=False)
    endpoint = f"{url}/completions"
    raw = httpx.Client(timeout=60)

    def via_backend() -> str:
        return backend.complete_sampling(prompt, sampling).text

    def via_client() -> str:
        return str(raw.post(endpoint, json=body).json()["choices"][0]["text"])

    def via_post() -> str:
        return str(httpx.post(endpoint, json=body, timeout=60).json()["choices"][0]["text"])

    ways = {"backend": via_backend, "raw client": via_client, "raw post": via_post}
    texts = {name: fn() for name, fn in ways.items()}
    assert len(set(texts.values())) == 1, f"the three ways disagree: {texts}"
    times: dict[str, list[float]] = {name: [] for name in ways}
    cpu: dict[str, float] = dict.fromkeys(ways, 0.0)  # this process only: the client's own work
    # The two pooled ways alternate (each goes first half the time). `httpx.post` builds a
    # client and connection per call (~10x slower here), so it gets its own phase: run in
    # the same rotation, whatever follows it pays for its garbage and connection churn.
    for phase in (("backend", "raw client"), ("raw post",)):
        for _ in range(warmup):
            for name in phase:
                ways[name]()
        for i in range(n):
            for name in phase if i % 2 == 0 else phase[::-1]:
                start, start_cpu = time.perf_counter(), time.process_time()
                ways[name]()
                times[name].append(time.perf_counter() - start)
                cpu[name] += time.process_time() - start_cpu
    backend.close()
    raw.close()

    print(f"{n} requests each to {endpoint} (model {model}, max_tokens {max_tokens})")
    means, p50s = {}, {}
    for name, seconds in times.items():
        line, means[name] = summary(name, seconds)
        p50s[name] = statistics.median(seconds)
        print(f"{line}   client cpu {cpu[name] / n * 1e6:7.1f} us/request")
    for baseline in ("raw client", "raw post"):
        mean = (means["backend"] - means[baseline]) / means[baseline] * 100
        p50 = (p50s["backend"] - p50s[baseline]) / p50s[baseline] * 100
        print(f"overhead vs {baseline}: mean {mean:+.2f}%   p50 {p50:+.2f}%")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000/v1", help="server base URL")
    parser.add_argument("--spawn", metavar="SPEC", help="start a server: 'fixed' or a backend spec")
    parser.add_argument("--model", help="model id (default: the server's first model)")
    parser.add_argument("-n", type=int, default=300, help="timed requests per way")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--max-tokens", type=int, default=16)
    parser.add_argument("--serve-fixed", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_fixed:
        serve_fixed(args.serve_fixed)
        return
    proc = None
    url = args.url
    if args.spawn:
        proc, url = spawn(args.spawn)
    try:
        bench(url.rstrip("/"), args.model, args.n, args.warmup, args.max_tokens)
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(10)


if __name__ == "__main__":
    main()
