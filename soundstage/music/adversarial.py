"""The adversarial rounds that train the realism critic against the generator's own samples.

    python -m soundstage.music.adversarial --model runs/music_model --data runs/music_data

Round 1: the critic learns to tell real openings of training pieces (up to 512 tokens) from free
samples of the model under the same conditioning headers. Round 2: the generator "moves":
each new fake is the best of `candidates` samples *as judged by the round-1 critic* (the
generator + critic system the composer actually runs), and the critic is fine-tuned from its
round-1 weights on those harder fakes plus the round-1 ones. We report how far round 2's fakes
fooled the round-1 critic (its AUC on them) and the final critic's held-out AUC.

This is a GAN's discriminator half only: updating the generator from the critic's reward
(SeqGAN's policy gradient) costs far more than a 2-core CPU budget allows, so the critic steers
generation by reranking instead. Its effect on realism is measured by `soundstage music eval`.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from soundstage.music.critic import Critic, evaluate, train_critic
from soundstage.music.generate import MusicModel
from soundstage.music.tokens import Conditions

Log = Callable[[str], object]
MAX_TOKENS = 384


def real_openings(data: Path, n: int, seed: int) -> list[list[int]]:
    ids = np.load(data / "train.npy")
    offsets = np.load(data / "train_offsets.npy")
    pick = np.random.default_rng(seed).permutation(len(offsets) - 1)[:n]
    return [ids[offsets[i] : min(offsets[i + 1], offsets[i] + MAX_TOKENS)].tolist() for i in pick]


def samples(
    model: MusicModel,
    conds: list[Conditions],
    rng: np.random.Generator,
    *,
    candidates: int = 1,
    critic: Critic | None = None,
    log: Log = print,
) -> list[list[int]]:
    out = []
    for i, cond in enumerate(conds):
        best = model.sample_best(
            cond, rng, candidates=candidates, critic=critic, max_tokens=MAX_TOKENS
        )
        out.append(best)
        if (i + 1) % 100 == 0:
            log(f"  sampled {i + 1}/{len(conds)}")
    return out


def train_critic_rounds(
    model_dir: Path, data: Path, *, n: int = 300, candidates: int = 3, log: Log = print
) -> dict[str, Any]:
    model = MusicModel.load(model_dir)
    real = real_openings(data, n, seed=11)
    conds = [model.tok.header_conditions(r) for r in real]
    rng = np.random.default_rng(12)
    log(f"round 1: {n} free samples")
    fakes1 = samples(model, conds, rng, log=log)
    critic1, metrics1 = train_critic(real, fakes1, model.tok, seed=1, log=log)
    log(f"round 1 critic: held-out AUC {metrics1.get('auc')}")
    half = conds[: n // 2]
    log(f"round 2: {len(half)} samples, each the best of {candidates} by the round-1 critic")
    fakes2 = samples(model, half, rng, candidates=candidates, critic=critic1, log=log)
    fooled = evaluate(critic1, real[n // 2 :], fakes2)
    fakes = fakes1 + fakes2
    critic2, metrics2 = train_critic(real, fakes, model.tok, seed=2, init=critic1, log=log)
    summary = {
        "round1": dict(metrics1),
        "round1_critic_on_round2_fakes": fooled,
        "round2": dict(metrics2),
        "samples": {"real": len(real), "fake_round1": len(fakes1), "fake_round2": len(fakes2)},
        "candidates": candidates,
    }
    critic2.metrics["adversarial"] = json.loads(json.dumps(summary, default=str))
    critic2.save(model_dir)
    log(json.dumps(summary, default=str))
    return summary


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Train the critic in two adversarial rounds.")
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--data", type=Path, default=Path("runs/music_data"))
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--candidates", type=int, default=3)
    args = parser.parse_args(argv)
    train_critic_rounds(args.model, args.data, n=args.n, candidates=args.candidates)


if __name__ == "__main__":
    main()
