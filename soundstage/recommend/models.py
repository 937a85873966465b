"""Top-N recommenders for implicit feedback: the strong, simple baselines first.

Why these four: on ML-100k (notes/recommend.md §3) a tuned EASE beats every neural or factor
model we tried, RP3β and ItemKNN are the baselines Ferrari Dacrema et al. found hardest to beat,
and most-popular is the floor any model must clear. All of them fit in seconds on a CPU, need no
GPU and no extra dependency beyond numpy/scipy.

Every model works on a plain `scipy.sparse.csr_matrix` of users × items (any non-zero is a
positive), so it does not care how the data was loaded or split. Models persist as
`model.npz` (arrays, loaded with `allow_pickle=False`) plus `model.json` (name, params, shapes):
no pickle, so a saved model can be read without running code from it. Both files are written
atomically.
"""

from __future__ import annotations

import importlib
import io
import json
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from soundstage.errors import SoundstageError
from soundstage.fileio import write_bytes_atomic

FORMAT_VERSION = 1
EASE_MAX_ITEMS = 30_000  # a dense 30k × 30k float64 Gram matrix is already 7.2 GB


class RecommendError(SoundstageError, ValueError):
    """Bad input to a recommender: unknown model, n ≤ 0, unfitted model, shape mismatch."""


def _binary(X: Any) -> sp.csr_matrix:
    """A float64 CSR copy of X with every stored non-zero set to 1 (implicit positives)."""
    M = sp.csr_matrix(X, dtype=np.float64, copy=True)
    M.eliminate_zeros()
    M.data[:] = 1.0
    return M


def _top_k_per_row(S: sp.csr_matrix, k: int, block: int = 1024) -> sp.csr_matrix:
    """Keep the k largest entries of each row of S (sparse result), working in row blocks."""
    S = sp.csr_matrix(S)
    n_rows, n_cols = S.shape
    if k >= n_cols:
        return S
    parts = []
    for start in range(0, n_rows, block):
        dense = S[start : start + block].toarray()
        drop = np.argpartition(-dense, k, axis=1)[:, k:]
        np.put_along_axis(dense, drop, 0.0, axis=1)
        parts.append(sp.csr_matrix(dense))
    return sp.vstack(parts, format="csr")


class Recommender:
    """Base class: subclasses implement `_fit`, `_scores`, `_arrays` and `_set_arrays`."""

    name: ClassVar[str] = "base"

    def __init__(self) -> None:
        self.n_items: int | None = None

    @property
    def params(self) -> dict[str, Any]:
        return {}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{type(self).__name__}({args})"

    # -- training and scoring -------------------------------------------------------------
    def fit(self, X: sp.csr_matrix) -> Recommender:
        """Learn from the users × items interaction matrix X; returns self."""
        M = _binary(X)
        if M.shape[1] == 0:
            raise RecommendError("cannot fit a recommender on a matrix with no items")
        self.n_items = int(M.shape[1])
        self._fit(M)
        return self

    def scores(self, users: np.ndarray, X: sp.csr_matrix) -> np.ndarray:
        """Dense (len(users), n_items) scores; row i scores users[i] from its row of X."""
        n_items = self._require_fitted()
        if X.shape[1] != n_items:
            raise RecommendError(
                f"interaction matrix has {X.shape[1]} items but the model was fitted on {n_items}"
            )
        users = np.asarray(users, dtype=np.int64)
        rows = _binary(sp.csr_matrix(X)[users])
        return np.asarray(self._user_scores(users, rows), dtype=np.float64)

    def recommend(
        self,
        user: int,
        X: sp.csr_matrix,
        n: int = 10,
        exclude_seen: bool = True,
        allowed: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-n (items, scores) for one user; ties go to the lower item index.

        `allowed` (item indices) restricts the candidates; seen items are dropped unless
        `exclude_seen=False`. Fewer than n items come back when fewer candidates exist.
        """
        if n <= 0:
            raise RecommendError(f"n must be a positive number of items, got {n}")
        s = self.scores(np.array([user]), X)[0]
        keep = np.ones(s.shape[0], dtype=bool)
        if exclude_seen:
            keep[sp.csr_matrix(X)[user].indices] = False
        if allowed is not None:
            mask = np.zeros_like(keep)
            mask[np.asarray(allowed, dtype=np.int64)] = True
            keep &= mask
        candidates = np.flatnonzero(keep)
        order = np.argsort(-s[candidates], kind="stable")[:n]
        items = candidates[order]
        return items, s[items]

    # -- persistence ----------------------------------------------------------------------
    def save(self, directory: str | Path) -> Path:
        """Write model.npz and model.json into `directory` (created if needed)."""
        n_items = self._require_fitted()
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        arrays = self._arrays()
        buf = io.BytesIO()
        np.savez(buf, **arrays)  # type: ignore[arg-type]
        meta = {
            "format": FORMAT_VERSION,
            "name": self.name,
            "params": self.params,
            "n_items": n_items,
            "arrays": {k: list(v.shape) for k, v in arrays.items()},
        }
        write_bytes_atomic(out / "model.npz", buf.getvalue())
        write_bytes_atomic(out / "model.json", (json.dumps(meta, indent=2) + "\n").encode())
        return out

    @staticmethod
    def load(directory: str | Path) -> Recommender:
        """Rebuild a model saved by `save` (any registered kind)."""
        return load(directory)

    # -- subclass hooks -------------------------------------------------------------------
    def _require_fitted(self) -> int:
        if self.n_items is None:
            raise RecommendError(f"{self.name} model is not fitted; call fit(X) first")
        return self.n_items

    def _fit(self, X: sp.csr_matrix) -> None:
        raise NotImplementedError

    def _scores(self, rows: sp.csr_matrix) -> np.ndarray:
        raise NotImplementedError

    def _user_scores(self, users: np.ndarray, rows: sp.csr_matrix) -> np.ndarray:
        """Scores from the users' rows; models that keep per-user state also use the indices."""
        return self._scores(rows)

    def _arrays(self) -> dict[str, np.ndarray]:
        raise NotImplementedError

    def _set_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        raise NotImplementedError


class MostPopular(Recommender):
    """Everyone gets the items with the most training interactions: the floor to beat."""

    name = "popular"

    def _fit(self, X: sp.csr_matrix) -> None:
        self.popularity = np.asarray(X.sum(axis=0), dtype=np.float64).ravel()

    def _scores(self, rows: sp.csr_matrix) -> np.ndarray:
        return np.tile(self.popularity, (rows.shape[0], 1))

    def _arrays(self) -> dict[str, np.ndarray]:
        return {"popularity": self.popularity}

    def _set_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        self.popularity = arrays["popularity"]


class _SparseSimilarity(Recommender):
    """Shared by item-item models: scores = X_u · W with a sparse items × items W."""

    W: sp.csr_matrix

    def _scores(self, rows: sp.csr_matrix) -> np.ndarray:
        return np.asarray((rows @ self.W).toarray())

    def _arrays(self) -> dict[str, np.ndarray]:
        W = self.W.tocsr()
        return {"data": W.data, "indices": W.indices, "indptr": W.indptr}

    def _set_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        n = self._require_fitted()
        triple = (arrays["data"], arrays["indices"], arrays["indptr"])
        self.W = sp.csr_matrix(triple, shape=(n, n))


class ItemKNN(_SparseSimilarity):
    """Cosine item-item similarity, top-k neighbours per item (Sarwar et al. 2001)."""

    name = "itemknn"

    def __init__(self, k: int = 400, shrink: float = 0.0) -> None:
        super().__init__()
        if k <= 0 or shrink < 0:
            raise RecommendError(f"itemknn needs k > 0 and shrink ≥ 0, got k={k}, shrink={shrink}")
        self.k, self.shrink = int(k), float(shrink)

    @property
    def params(self) -> dict[str, Any]:
        return {"k": self.k, "shrink": self.shrink}

    def _fit(self, X: sp.csr_matrix) -> None:
        C = sp.csr_matrix(X.T @ X)
        C.setdiag(0.0)
        C.eliminate_zeros()
        norms = np.sqrt(np.asarray(X.sum(axis=0)).ravel())
        coo = C.tocoo()
        coo.data = coo.data / (norms[coo.row] * norms[coo.col] + self.shrink + 1e-12)
        # Keep the k most similar *source* items for each target item (column j of W).
        self.W = _top_k_per_row(coo.T.tocsr(), self.k).T.tocsr()


class RP3beta(_SparseSimilarity):
    """3-step random walk user→item→user→item, damped by target popularity^β (Paudel 2017).

    W_ij = (P_iu^α · P_ui^α)_ij / pop_j^β, diagonal zeroed, top-k targets kept per source item.
    """

    name = "rp3beta"

    def __init__(self, alpha: float = 0.5, beta: float = 0.5, k: int = 200) -> None:
        super().__init__()
        if k <= 0:
            raise RecommendError(f"rp3beta needs k > 0, got {k}")
        self.alpha, self.beta, self.k = float(alpha), float(beta), int(k)

    @property
    def params(self) -> dict[str, Any]:
        return {"alpha": self.alpha, "beta": self.beta, "k": self.k}

    def _fit(self, X: sp.csr_matrix) -> None:
        P_ui = _row_normalised(X)
        P_iu = _row_normalised(sp.csr_matrix(X.T))
        P_ui.data **= self.alpha
        P_iu.data **= self.alpha
        pop = np.asarray(X.sum(axis=0)).ravel()
        damp = np.zeros_like(pop)
        damp[pop > 0] = pop[pop > 0] ** -self.beta
        W = sp.csr_matrix(P_iu @ P_ui) @ sp.diags(damp)
        W = sp.csr_matrix(W)
        W.setdiag(0.0)
        W.eliminate_zeros()
        self.W = _top_k_per_row(W, self.k)


def _row_normalised(M: sp.csr_matrix) -> sp.csr_matrix:
    """Rows scaled to sum 1 (empty rows stay empty)."""
    sums = np.asarray(M.sum(axis=1)).ravel()
    inv = np.zeros_like(sums)
    inv[sums > 0] = 1.0 / sums[sums > 0]
    return sp.csr_matrix(sp.diags(inv) @ M)


class EASE(Recommender):
    """Embarrassingly Shallow Autoencoder (Steck 2019): B = I − P·diag(1/diag P), P = (XᵀX+λI)⁻¹.

    `dropout` > 0 turns it into DLAE (Steck, NeurIPS 2020, "Autoencoders that don't overfit
    towards the identity"): the ridge penalty grows with each item's popularity,
    Λ = λI + p/(1−p)·diag(XᵀX), and B = I − P·Λ (diagonal dropped when scoring). On ML-100K it
    adds about 1% NDCG@10 over plain EASE (docs/benchmarks.md). Dense items × items, so it
    refuses catalogues above EASE_MAX_ITEMS items.
    """

    name = "ease"

    def __init__(self, lam: float = 500.0, dropout: float = 0.0) -> None:
        super().__init__()
        if lam <= 0 or not 0.0 <= dropout < 1.0:
            raise RecommendError(f"ease needs lam > 0 and 0 ≤ dropout < 1, got {lam}, {dropout}")
        self.lam, self.dropout = float(lam), float(dropout)

    @property
    def params(self) -> dict[str, Any]:
        return {"lam": self.lam, "dropout": self.dropout}

    def _fit(self, X: sp.csr_matrix) -> None:
        n = X.shape[1]
        if n > EASE_MAX_ITEMS:
            raise RecommendError(
                f"ease needs a dense {n} × {n} matrix ({n * n * 8 / 1e9:.1f} GB); "
                f"it is limited to {EASE_MAX_ITEMS} items — use itemknn or rp3beta"
            )
        G = np.asarray((X.T @ X).toarray(), dtype=np.float64)
        penalty = self.lam + self.dropout / (1.0 - self.dropout) * np.diag(G)
        G[np.diag_indices(n)] += penalty
        P = np.linalg.inv(G)
        if self.dropout > 0:
            B = -P * penalty[None, :]
        else:
            B = -P / np.diag(P)[None, :]
        B[np.diag_indices(n)] = 0.0
        self.B = B.astype(np.float32)

    def _scores(self, rows: sp.csr_matrix) -> np.ndarray:
        # float32 rows: a float64 row would upcast (copy) all of B on every call.
        return np.asarray(rows.astype(np.float32) @ self.B)

    def _arrays(self) -> dict[str, np.ndarray]:
        return {"B": self.B}

    def _set_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        self.B = arrays["B"]


def factor_gram(owner: object, factors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`factors` in float64 and their Gram matrix YᵀY, computed once per set of factors.

    Cached on `owner`, keyed by the factor array's identity: serving scores one user per
    request, and recomputing YᵀY each time would dominate the request.
    """
    cached = getattr(owner, "_gram_cache", None)
    if cached is None or cached[0] is not factors:
        Y = factors.astype(np.float64)
        cached = (factors, Y, Y.T @ Y)
        owner._gram_cache = cached  # type: ignore[attr-defined]
    return cached[1], cached[2]


def fold_in_users(
    Y: np.ndarray,
    base: np.ndarray,
    rows: sp.csr_matrix,
    *,
    extra: float,
    target: float,
    reg_per_event: float = 0.0,
) -> np.ndarray:
    """Closed-form implicit-ALS user factors for binary item rows (zeros for an empty row).

    x_u = (base + extra·Y_uᵀY_u + reg_per_event·n_u·I)⁻¹ · target·Σ Y_u, which covers both
    `implicit`'s update (base = YᵀY + λI, extra = α − 1, target = α) and Spark's ALS-WR update
    (base = YᵀY, extra = α, target = 1 + α, λ scaled by the user's event count n_u).
    """
    users = np.zeros((rows.shape[0], Y.shape[1]))
    eye = np.eye(Y.shape[1])
    for u in range(rows.shape[0]):
        idx = rows.indices[rows.indptr[u] : rows.indptr[u + 1]]
        if len(idx) == 0:
            continue
        Yu = Y[idx]
        A = base + extra * (Yu.T @ Yu) + reg_per_event * len(idx) * eye
        users[u] = np.linalg.solve(A, target * Yu.sum(axis=0))
    return users


def _implicit_missing(model: str) -> RecommendError:
    return RecommendError(
        f"the {model} model needs the implicit library: pip install 'soundstage[recommend]'"
    )


class ALS(Recommender):
    """Implicit-feedback ALS (Hu et al. 2008) through the `implicit` library.

    `implicit` trains the factors (conjugate-gradient ALS in C++). Scoring folds each user in
    from their row with the closed form of an ALS user update,
    x_u = (YᵀY + Yᵀ(C_u − I)Y + λI)⁻¹ YᵀC_u p_u, confidence c = alpha for a positive as
    `implicit` defines it: a user unseen at fit time, or one with new events, is scored without
    refitting, and only item factors are stored. Defaults are
    the note's tuned ML-100K values (32 factors, regularization 10, alpha 1, 15 iterations).
    """

    name = "als"

    def __init__(
        self,
        factors: int = 32,
        regularization: float = 10.0,
        alpha: float = 1.0,
        iterations: int = 15,
        seed: int = 0,
    ) -> None:
        super().__init__()
        if factors < 1 or iterations < 1 or regularization < 0 or alpha <= 0:
            raise RecommendError(
                "als needs factors ≥ 1, iterations ≥ 1, regularization ≥ 0 and alpha > 0"
            )
        self.factors, self.regularization = int(factors), float(regularization)
        self.alpha, self.iterations, self.seed = float(alpha), int(iterations), int(seed)

    @property
    def params(self) -> dict[str, Any]:
        return {
            "factors": self.factors,
            "regularization": self.regularization,
            "alpha": self.alpha,
            "iterations": self.iterations,
            "seed": self.seed,
        }

    def _fit(self, X: sp.csr_matrix) -> None:
        try:
            from implicit.cpu.als import AlternatingLeastSquares
        except ImportError:
            raise _implicit_missing("als") from None
        # implicit asks for single-threaded BLAS (it warns otherwise): its own threads do the work.
        with threadpool_limits(limits=1, user_api="blas"):
            model = AlternatingLeastSquares(
                factors=self.factors,
                regularization=self.regularization,
                alpha=self.alpha,
                iterations=self.iterations,
                random_state=self.seed,
            )
            model.fit(sp.csr_matrix(X, dtype=np.float32), show_progress=False)
        self.Y = np.asarray(model.item_factors, dtype=np.float32)

    def _scores(self, rows: sp.csr_matrix) -> np.ndarray:
        Y, gram = factor_gram(self, self.Y)
        ridge = gram + self.regularization * np.eye(Y.shape[1])
        users = fold_in_users(Y, ridge, rows, extra=self.alpha - 1.0, target=self.alpha)
        return users @ Y.T

    def _arrays(self) -> dict[str, np.ndarray]:
        return {"item_factors": self.Y}

    def _set_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        self.Y = arrays["item_factors"]


class BPR(Recommender):
    """Bayesian Personalised Ranking (Rendle et al. 2009) through the `implicit` library.

    Pairwise SGD has no closed-form fold-in, so users seen at fit time are scored from their
    learned factors; a user added later is placed at the mean of their items' factors (a rough
    but cheap fold-in; refit to do better). Defaults are the note's tuned ML-100K values
    (64 factors, learning rate 0.003, regularization 0.01, 200 iterations): untuned BPR scores
    below popularity there.
    """

    name = "bpr"

    def __init__(
        self,
        factors: int = 64,
        learning_rate: float = 0.003,
        regularization: float = 0.01,
        iterations: int = 200,
        seed: int = 0,
    ) -> None:
        super().__init__()
        if factors < 1 or iterations < 1 or learning_rate <= 0 or regularization < 0:
            raise RecommendError(
                "bpr needs factors ≥ 1, iterations ≥ 1, learning_rate > 0 and regularization ≥ 0"
            )
        self.factors, self.learning_rate = int(factors), float(learning_rate)
        self.regularization, self.iterations = float(regularization), int(iterations)
        self.seed = int(seed)

    @property
    def params(self) -> dict[str, Any]:
        return {
            "factors": self.factors,
            "learning_rate": self.learning_rate,
            "regularization": self.regularization,
            "iterations": self.iterations,
            "seed": self.seed,
        }

    def _fit(self, X: sp.csr_matrix) -> None:
        try:
            from implicit.cpu.bpr import BayesianPersonalizedRanking
        except ImportError:
            raise _implicit_missing("bpr") from None
        with threadpool_limits(limits=1, user_api="blas"):
            model = BayesianPersonalizedRanking(
                factors=self.factors,
                learning_rate=self.learning_rate,
                regularization=self.regularization,
                iterations=self.iterations,
                random_state=self.seed,
            )
            model.fit(sp.csr_matrix(X, dtype=np.float32), show_progress=False)
        # implicit appends a bias column to item factors and a constant 1 to user factors.
        self.user_factors = np.asarray(model.user_factors, dtype=np.float32)
        self.item_factors = np.asarray(model.item_factors, dtype=np.float32)

    def _user_scores(self, users: np.ndarray, rows: sp.csr_matrix) -> np.ndarray:
        known = users < self.user_factors.shape[0]
        U = np.zeros((rows.shape[0], self.item_factors.shape[1]), dtype=np.float32)
        U[known] = self.user_factors[users[known]]
        for u in np.flatnonzero(~known):
            idx = rows.indices[rows.indptr[u] : rows.indptr[u + 1]]
            if len(idx):
                U[u] = self.item_factors[idx].mean(axis=0)
                U[u, -1] = 1.0
        return U @ self.item_factors.T

    def _arrays(self) -> dict[str, np.ndarray]:
        return {"user_factors": self.user_factors, "item_factors": self.item_factors}

    def _set_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        self.user_factors = arrays["user_factors"]
        self.item_factors = arrays["item_factors"]


MODELS: dict[str, type[Recommender]] = {
    "popular": MostPopular,
    "itemknn": ItemKNN,
    "rp3beta": RP3beta,
    "ease": EASE,
    "als": ALS,
    "bpr": BPR,
}
"""Collaborative models that need only the interaction matrix (what `eval --model all` runs)."""

MORE_MODELS: dict[str, str] = {
    "content": "soundstage.recommend.content:ContentModel",
    "hybrid": "soundstage.recommend.hybrid:Hybrid",
    "spark-als": "soundstage.recommend.spark:SparkALS",
}
"""Models that need item text or an optional extra; imported only when asked for."""


def model_names() -> list[str]:
    return [*MODELS, *MORE_MODELS]


def model_class(name: str) -> type[Recommender]:
    """The class registered under `name`, importing optional modules on demand."""
    if name in MODELS:
        return MODELS[name]
    if name not in MORE_MODELS:
        raise RecommendError(f"unknown model {name!r}; known: {', '.join(sorted(model_names()))}")
    module, _, attr = MORE_MODELS[name].partition(":")
    cls: type[Recommender] = getattr(importlib.import_module(module), attr)
    return cls


def make(name: str, **params: Any) -> Recommender:
    """Build an unfitted model by registry name, e.g. make("ease", lam=300)."""
    cls = model_class(name)
    try:
        return cls(**params)
    except TypeError as exc:
        raise RecommendError(f"bad parameters for {name}: {exc}") from None


def load(directory: str | Path) -> Recommender:
    """Read model.json + model.npz written by `Recommender.save`."""
    src = Path(directory)
    try:
        meta = json.loads((src / "model.json").read_text())
    except (OSError, ValueError) as exc:
        raise RecommendError(f"cannot read {src / 'model.json'}: {exc}") from None
    if meta.get("format") != FORMAT_VERSION:
        raise RecommendError(f"unsupported model format {meta.get('format')!r} in {src}")
    model = make(meta["name"], **meta["params"])
    model.n_items = int(meta["n_items"])
    with np.load(src / "model.npz", allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    if {k: list(v.shape) for k, v in arrays.items()} != meta["arrays"]:
        raise RecommendError(f"{src / 'model.npz'} does not match model.json (shapes differ)")
    model._set_arrays(arrays)
    return model
