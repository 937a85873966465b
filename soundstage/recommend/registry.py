"""Model versions on disk, and the bundle a server answers from.

Why a registry in the data directory: a platform retrains nightly and must roll forward or back
without restarting the server. Each `train` writes an immutable version folder

    <data_dir>/recommend/models/<version>/
        model.json, model.npz   the recommender (no pickle)
        history.npz             users × items training matrix (CSR arrays): what each user has seen
        ids.json                user and item ids in index order
        catalog.json            titles, kinds, genres for the items (may be empty)
        similar.npz             item-item cosine top-k (explanations and diversity)
        card.json               model name, params, data sizes, validation/tuning numbers, time

and `ACTIVE` names the version being served. Everything is written into a temporary folder
and renamed into place, and `ACTIVE` is replaced atomically, so a server never reads a half
written version. A server notices a changed `ACTIVE` on its next request (one stat call).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from soundstage.fileio import write_bytes_atomic
from soundstage.recommend.data import Item
from soundstage.recommend.models import ItemKNN, Recommender, RecommendError, load

SIMILAR_K = 50
_VERSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


@dataclass
class Bundle:
    """Everything needed to answer requests for one version, loaded into memory."""

    version: str
    model: Recommender
    history: sp.csr_matrix
    user_ids: list[str]
    item_ids: list[str]
    catalog: dict[str, Item]
    similar: sp.csr_matrix
    card: dict[str, Any] = field(default_factory=dict)
    cache: dict[tuple[str, str | None], Any] = field(default_factory=dict)
    """Answers that depend only on the version (cold-start list, kind masks)."""

    def __post_init__(self) -> None:
        self.user_index = {u: i for i, u in enumerate(self.user_ids)}
        self.item_index = {it: i for i, it in enumerate(self.item_ids)}
        self.popularity = np.asarray(self.history.sum(axis=0), dtype=np.float64).ravel()
        self.similar_to = sp.csr_matrix(self.similar.T)  # row j: items similar *to* j


def _csr_arrays(M: sp.csr_matrix) -> dict[str, np.ndarray]:
    M = sp.csr_matrix(M)
    return {
        "data": M.data.astype(np.float32),
        "indices": M.indices,
        "indptr": M.indptr,
        "shape": np.array(M.shape, dtype=np.int64),
    }


def _csr_from(arrays: Any) -> sp.csr_matrix:
    shape = tuple(int(x) for x in arrays["shape"])
    return sp.csr_matrix((arrays["data"], arrays["indices"], arrays["indptr"]), shape=shape)


def item_similarity(history: sp.csr_matrix, k: int = SIMILAR_K) -> sp.csr_matrix:
    """Cosine item-item similarity, top-k per item: 'because you watched X' and diversity."""
    knn = ItemKNN(k=k)
    knn.fit(history)
    return sp.csr_matrix(knn.W.T)  # row i: the items most similar to item i


def _item_json(item: Item) -> dict[str, Any]:
    return {
        "id": item.id,
        "title": item.title,
        "kind": item.kind,
        "genres": list(item.genres),
        "year": item.year,
        "description": item.description,
        "creator": item.creator,
    }


def _item_from(d: dict[str, Any]) -> Item:
    return Item(
        id=str(d["id"]),
        title=str(d.get("title", "")),
        kind=str(d.get("kind", "movie")),
        genres=tuple(d.get("genres", ())),
        year=d.get("year"),
        description=str(d.get("description", "")),
        creator=str(d.get("creator", "")),
    )


class Registry:
    """Versions under `root/models`, the served one named in `root/ACTIVE`."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.models = self.root / "models"
        self.active_file = self.root / "ACTIVE"

    def versions(self) -> list[str]:
        if not self.models.is_dir():
            return []
        return sorted(p.name for p in self.models.iterdir() if (p / "card.json").is_file())

    def card(self, version: str) -> dict[str, Any]:
        return dict(json.loads((self._folder(version) / "card.json").read_text()))

    def active(self) -> str | None:
        try:
            name = self.active_file.read_text().strip()
        except (FileNotFoundError, NotADirectoryError):
            return None
        return name or None

    def activate(self, version: str) -> None:
        self._folder(version)
        write_bytes_atomic(self.active_file, (version + "\n").encode())

    def publish(
        self,
        model: Recommender,
        history: sp.csr_matrix,
        user_ids: list[str],
        item_ids: list[str],
        catalog: list[Item] | None = None,
        card: dict[str, Any] | None = None,
        version: str | None = None,
        activate: bool = True,
    ) -> str:
        """Write a new version folder atomically; returns its name."""
        version = version or time.strftime("%Y%m%dT%H%M%S") + f"-{model.name}"
        if not _VERSION.match(version):
            raise RecommendError(f"bad version name {version!r}: use letters, digits, . _ -")
        final = self.models / version
        if final.exists():
            raise RecommendError(f"model version {version} already exists")
        history = sp.csr_matrix(history)
        if history.shape != (len(user_ids), len(item_ids)):
            raise RecommendError(
                f"history is {history.shape} but there are {len(user_ids)} users "
                f"and {len(item_ids)} items"
            )
        self.models.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{version}.", dir=self.models))
        try:
            model.save(tmp)
            np.savez(tmp / "history.npz", **_csr_arrays(history))  # type: ignore[arg-type]
            np.savez(tmp / "similar.npz", **_csr_arrays(item_similarity(history)))  # type: ignore[arg-type]
            ids = {"users": list(user_ids), "items": list(item_ids)}
            (tmp / "ids.json").write_text(json.dumps(ids))
            known = set(item_ids)
            items = [_item_json(it) for it in (catalog or []) if it.id in known]
            (tmp / "catalog.json").write_text(json.dumps(items, ensure_ascii=False))
            full_card = {
                "version": version,
                "model": model.name,
                "params": model.params,
                "users": len(user_ids),
                "items": len(item_ids),
                "interactions": int(history.nnz),
                "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                **(card or {}),
            }
            (tmp / "card.json").write_text(json.dumps(full_card, indent=2) + "\n")
            os.replace(tmp, final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        if activate:
            self.activate(version)
        return version

    def load(self, version: str | None = None) -> Bundle:
        """Read a version (default: the active one) into memory."""
        version = version or self.active()
        if version is None:
            raise RecommendError(
                f"no recommender model is active in {self.root}",
            )
        folder = self._folder(version)
        with np.load(folder / "history.npz", allow_pickle=False) as npz:
            history = _csr_from(npz)
        with np.load(folder / "similar.npz", allow_pickle=False) as npz:
            similar = _csr_from(npz)
        ids = json.loads((folder / "ids.json").read_text())
        catalog = {
            d["id"]: _item_from(d) for d in json.loads((folder / "catalog.json").read_text())
        }
        return Bundle(
            version=version,
            model=load(folder),
            history=history,
            user_ids=ids["users"],
            item_ids=ids["items"],
            catalog=catalog,
            similar=similar,
            card=self.card(version),
        )

    def _folder(self, version: str) -> Path:
        folder = self.models / version
        if not _VERSION.match(version) or not (folder / "card.json").is_file():
            known = ", ".join(self.versions()) or "none"
            raise RecommendError(f"unknown model version {version!r} (known: {known})")
        return folder
