"""The recommendations page in a real browser: no model yet, then a tiny published one
(top-n with explanations, cold-start picks, versions with their numbers); activating a
version is for admins only, checked on the server."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from studio_helpers import Studio, fits_a_phone, shot, sign_in

from soundstage.recommend.data import Item
from soundstage.recommend.models import make
from soundstage.recommend.registry import Registry


def publish(live: Studio) -> Registry:
    """Two versions of a tiny recommender: v1 (EASE, active) and v2 (popularity)."""
    registry = Registry(live.settings.data_dir / "recommend")
    if registry.versions():
        return registry
    genres = ("Sci-Fi", "Comedy")
    items = [
        Item(id=f"i{i}", title=f"{genres[i // 4]} title {i}", genres=(genres[i // 4],))
        for i in range(8)
    ]
    rows = [[0, 1, 2], [0, 1, 3], [1, 2, 3], [4, 5, 6], [4, 5, 7], [5, 6, 7], [0, 4]]
    X = sp.csr_matrix(np.array([[float(i in seen) for i in range(8)] for seen in rows]))
    users, ids = [f"u{u}" for u in range(len(rows))], [it.id for it in items]
    card = {"tuning": {"ease": {"metric": "ndcg@10", "validation": 0.4321, "trials": 3}}}
    registry.publish(make("ease", lam=1.0).fit(X), X, users, ids, items, card, version="v1")
    pop = make("popular").fit(X)
    registry.publish(pop, X, users, ids, items, version="v2", activate=False)
    return registry


def test_an_analyst_sees_picks_explanations_and_versions(live: Studio, page) -> None:  # type: ignore[no-untyped-def]
    sign_in(page, live.url, "ana")
    assert page.url.endswith("/recommendations")
    assert "No recommender model is trained yet" in page.locator("#recs-missing").inner_text()
    publish(live)
    page.goto(live.url + "/recommendations")
    assert page.locator("#recs-missing").count() == 0
    versions = page.locator("#versions").inner_text()
    assert "v1" in versions and "active" in versions and "ndcg@10 0.4321" in versions
    assert page.get_by_role("button", name="Activate v2").count() == 0  # not for analysts
    cold = page.locator("#cold-picks tbody tr")
    assert cold.count() == 8 and "popular" in cold.first.inner_text()
    page.get_by_label("User id").fill("u0")
    page.get_by_label("How many").fill("3")
    page.get_by_role("button", name="Show picks").click()
    picks = page.locator("#user-picks tbody tr")
    picks.first.wait_for()  # the page after the form's GET has loaded
    assert picks.count() == 3
    assert "Because you watched Sci-Fi title" in picks.first.inner_text()
    assert page.locator("#answer-h").inner_text() == "For u0"
    shot(page, "recommendations")
    fits_a_phone(page, "recommendations")
    page.get_by_label("User id").fill("someone-new")
    page.get_by_role("button", name="Show picks").click()
    assert "someone-new is new here" in page.locator("#answer-h").inner_text()


def test_only_an_admin_activates_a_version(live: Studio, page) -> None:  # type: ignore[no-untyped-def]
    registry = publish(live)
    sign_in(page, live.url, "ana")
    page.goto(live.url + "/recommendations")
    csrf = page.locator("input[name=csrf]").first.get_attribute("value")
    refused = page.request.post(
        live.url + "/recommendations/activate", form={"csrf": csrf, "version": "v2"}
    )
    assert refused.status == 403 and registry.active() == "v1"
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, live.url, "ada")
    page.goto(live.url + "/recommendations")
    page.get_by_role("button", name="Activate v2").click()
    assert registry.active() == "v2"
    row = page.get_by_role("row").filter(has_text="v2")
    assert "active" in row.inner_text() and "serving" in row.inner_text()
    registry.activate("v1")
