"""The review queue in a real browser: claim and decide, an appeal decided by a second
reviewer while the first is refused, statements of reasons, user reports, and a writer
kept out of the reviewers' pages."""

from __future__ import annotations

from sqlalchemy import Engine
from studio_helpers import Studio, fits_a_phone, shot, sign_in

from soundstage.moderate.queue import ReviewQueue
from soundstage.moderate.types import RuleHit, Span, Verdict, text_sha256
from soundstage.web.studio.review import highlight

CLAUSE = "Guidelines §5 No threats of violence"


def queue_item(engine: Engine, content_id: str, text: str, marked: str) -> str:
    """A flagged text in the queue, as the moderator would put it there, with one span."""
    start = text.index(marked)
    verdict = Verdict(
        text_sha256=text_sha256(text),
        chars=len(text),
        lang="en",
        lang_confidence=0.99,
        supported=True,
        scores={"threat": 0.93, "toxicity": 0.4},
        decision="block",
        hits=[RuleHit("threat", 0.93, 0.9, "block", CLAUSE)],
        spans=[Span(start, start + len(marked), marked, "threat", 0.9)],
        model="moderation-fast@1",
        policy="community@2026-11-26",
        surface="comments",
    )
    return ReviewQueue(engine).submit(verdict, content_id=content_id, text=text).id


def sign_out(page) -> None:  # type: ignore[no-untyped-def]
    page.get_by_role("button", name="Sign out").click()


def test_highlight_marks_spans_merges_overlaps_and_cuts_excerpts() -> None:
    spans = [Span(6, 11, "", "insult", 1), Span(9, 14, "", "threat", 1)]
    assert highlight("hello world, friend", spans) == [
        ("hello ", False),
        ("world, f", True),
        ("riend", False),
    ]
    long = "a" * 100 + "bad" + "b" * 500
    cut = highlight(long, [Span(100, 103, "bad", "x", 1)], limit=40)
    assert cut[0] == ("…", False) and ("bad", True) in cut and cut[-1] == ("…", False)
    assert sum(len(p) for p, _ in cut[1:-1]) == 40
    assert highlight("short", [Span(3, 99, "", "x", 1)]) == [("sho", False), ("rt", True)]


def test_a_reviewer_claims_and_decides(live: Studio, page) -> None:  # type: ignore[no-untyped-def]
    text = "Nice <b>cut</b>, but I will find you and hurt you."
    item_id = queue_item(live.accounts.engine, "comment-1", text, "I will find you and hurt you")
    sign_in(page, live.url, "rita")
    assert page.url.endswith("/review")
    row = page.get_by_role("row").filter(has_text="Nice <b>cut</b>")  # escaped, not markup
    assert row.locator("mark").inner_text() == "I will find you and hurt you"
    shot(page, "review")
    fits_a_phone(page, "review")
    row.get_by_role("button", name="Claim item comment-1").click()
    assert page.url.endswith(f"/review/{item_id}")
    shot(page, "review-item")
    fits_a_phone(page, "review-item")
    # A block without its policy clause: the queue's refusal, next to the form.
    page.get_by_label("Block").check()
    page.get_by_label("Reason (the user reads it)").fill("A threat of violence.")
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.get_by_role("button", name="Decide", exact=True).click()
    assert posted.value.status == 400
    assert "needs the policy clause" in page.get_by_role("alert").inner_text()
    page.get_by_label("Policy clause").select_option(CLAUSE)
    page.get_by_role("button", name="Decide", exact=True).click()
    assert page.locator("#item-decision").inner_text().startswith("block by rita")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download statement (Markdown)").click()
    statement = download.value
    assert statement.suggested_filename == f"statement-{item_id}.md"
    body = open(statement.path(), encoding="utf-8").read()
    assert "Statement of reasons" in body and CLAUSE in body


def test_an_appeal_goes_to_a_second_reviewer(live: Studio, page) -> None:  # type: ignore[no-untyped-def]
    item_id = queue_item(live.accounts.engine, "comment-2", "Stop or I hit you.", "I hit you")
    queue = ReviewQueue(live.accounts.engine)
    queue.claim("rita", item_id=item_id)
    queue.decide(item_id, "rita", "block", "A threat.", CLAUSE)
    # The author (any account) appeals from /report.
    sign_in(page, live.url, "wendy")
    page.goto(live.url + "/report")
    page.get_by_label("Item id (from the statement of reasons)").fill(item_id)
    page.get_by_label("Why the decision is wrong").fill("It is a line of dialogue.")
    page.get_by_role("button", name="Send appeal").click()
    assert "Your appeal is in" in page.get_by_role("status").inner_text()
    sign_out(page)
    # The first reviewer may not take the appeal: refused by the queue, said on the page.
    sign_in(page, live.url, "rita")
    page.goto(f"{live.url}/review/{item_id}")
    assert "must be decided by a reviewer other than rita" in page.locator(".notice").inner_text()
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.get_by_role("button", name="Claim", exact=True).click()
    assert posted.value.status == 409
    assert "rita made the decision under appeal" in page.get_by_role("alert").inner_text()
    sign_out(page)
    # A second reviewer claims it and overturns.
    sign_in(page, live.url, "rob")
    page.goto(f"{live.url}/review/{item_id}")
    page.get_by_role("button", name="Claim", exact=True).click()
    page.get_by_label("Allow").check()
    page.get_by_label("Reason (the user reads it)").fill("Fiction, not a threat.")
    page.get_by_role("button", name="Decide appeal").click()
    assert page.locator("#appeal-outcome").inner_text().startswith("overturned by rob")
    assert queue.get(item_id).final_decision == "allow"


def test_a_writer_is_refused_the_review_pages_but_may_report(live: Studio, page) -> None:  # type: ignore[no-untyped-def]
    item_id = queue_item(live.accounts.engine, "comment-3", "You will pay for this.", "pay")
    sign_in(page, live.url, "wendy")
    for path in ("/review", f"/review/{item_id}", f"/review/{item_id}/statement.md"):
        assert page.goto(live.url + path).status == 403, path
    assert "needs the reviewer role" in page.get_by_role("alert").inner_text()
    csrf = page.locator("input[name=csrf]").first.get_attribute("value")
    claimed = page.request.post(f"{live.url}/review/{item_id}/claim", form={"csrf": csrf})
    assert claimed.status == 403  # checked on the server, not only hidden
    assert ReviewQueue(live.accounts.engine).get(item_id).status == "pending"
    # Any account may report a text; it joins the queue as a user report.
    assert page.goto(live.url + "/report").status == 200
    page.get_by_label("Where it is (content id)").fill("review-77")
    page.get_by_label("The text").fill("<script>alert(1)</script> is a spoiler")
    page.get_by_label("Why it breaks the rules").fill("Spoiler and script.")
    page.get_by_role("button", name="Send report").click()
    assert "your report is in the review queue" in page.get_by_role("status").inner_text()
    reported = [
        i for i in ReviewQueue(live.accounts.engine).pending() if i.content_id == "review-77"
    ]
    assert reported and reported[0].source == "user_report" and reported[0].reports == 1
    # A reviewer sees it as text, not markup.
    sign_out(page)
    sign_in(page, live.url, "rob")
    # wait_for is strict: exactly one element has the text, shown as text.
    page.get_by_text("<script>alert(1)</script> is a spoiler").wait_for()
