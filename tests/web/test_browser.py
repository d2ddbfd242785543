"""The pages in a real browser: Debian's Chromium, headless, driven by Playwright.

Outside CI the tests skip when /usr/bin/chromium is missing; with CI set they fail instead.
"""

from __future__ import annotations

import json
import re
import time
from urllib.parse import parse_qs, urlsplit

import pytest

from qa.web.core import highlight_segments

from .conftest import BEHAVIOR, MARKED_SPANS, MARKED_TEXT, MUMS_AND_DADS, XSS_DOC_ID, HostPage

pytestmark = pytest.mark.browser

FATHERS = "What did reviews find about fathers?"
FOLLOW_UP = "and for babies?"
DOC = "003_4f43f8225b928628"
TARGET_BG = "rgb(255, 243, 196)"  # --target in style.css
XSS_QUESTIONS = [
    "What does the zebrafinch protocol require?",
    "What were zebrafinch assessments missing?",
    "what about the zebrafinch checklist",
    '<img src=x onerror="window.__xss=(window.__xss||0)+1"><script>window.__xss=1</script> zebrafinch',
]


@pytest.fixture()
def context(browser):
    ctx = browser.new_context(viewport={"width": 1200, "height": 900})
    ctx.set_default_timeout(15000)
    yield ctx
    ctx.close()


@pytest.fixture()
def page(context):
    p = context.new_page()
    p.dialogs = []
    p.on("dialog", lambda d: (p.dialogs.append(d.message), d.dismiss()))
    return p


@pytest.fixture(scope="module")
def allowed_host(server):
    host = HostPage(server.base, port=server.allowed_port)
    yield host
    host.stop()


@pytest.fixture(scope="module")
def other_host(server):
    host = HostPage(server.base)
    yield host
    host.stop()


def first_cited(engine, question, history=()):
    """The passage the first source card shows: the best-ranked passage the answer cites."""
    result = engine.ask(question, history=list(history))
    cited = {int(n) for n in re.findall(r"\[(\d+)\]", result["answer"] or "")}
    return next(p for p in result["passages"] if p["rank"] in cited)


def card_meta(p) -> str:
    bits = [p["publisher"], p["date"], f"Section: {p['section']}" if p["section"] else None,
            f"Paragraph {p['paragraph']}" if p["paragraph"] else None, f"Page {p['page']}" if p["page"] else None]
    return " · ".join(b for b in bits if b)


def metas_of(locator):
    """The meta line of every source card, also of the folded "other passages"."""
    return [m.strip() for m in locator.locator(".cite-meta").all_text_contents()]


def parts(p) -> list[list]:
    """[segment, is_marked] of a passage as the server renders it from its highlights."""
    return [[seg, hit] for seg, hit in highlight_segments(p["text"], p["highlights"])]


def quote_parts(card) -> list[list]:
    """[text, is_marked] of the nodes of a source card's quote (blockquote in the chat, p.txt in the
    widget); empty text nodes left out."""
    return card.locator("blockquote, p.txt").evaluate(
        "q => Array.from(q.childNodes).filter(n => n.textContent)"
        ".map(n => [n.textContent, n.nodeName === 'MARK'])")


def ask_in_chat(page, question):
    count = page.locator("article.turn").count()
    page.fill("#q", question)
    page.press("#q", "Enter")
    page.wait_for_selector(f"article.turn:nth-of-type({count + 1}) .question")
    return page.locator("article.turn").nth(count)


def ask_in_widget(page, question):
    """Ask in the embedded widget (inside its shadow root) and return the new turn once shown."""
    widget = page.locator("[data-qa-widget]")
    count = widget.locator(".turn").count()
    widget.locator("input").fill(question)
    widget.locator("input").press("Enter")
    page.wait_for_function(
        "n => document.querySelector('[data-qa-widget]').shadowRoot.querySelectorAll('.turn').length == n",
        arg=count + 1)
    return widget.locator(".turn").nth(count)


# ---------------------------------------------------------------------------------------------
# Chat page with JavaScript
# ---------------------------------------------------------------------------------------------

def test_ask_shows_answer_and_citations_without_reload(page, server, engine):
    expected = first_cited(engine, FATHERS)
    requests_seen = []
    page.on("request", lambda r: requests_seen.append(r.url))
    page.goto(server.base + "/")
    assert page.locator("#empty-state").is_visible()
    page.evaluate("window.__sameDocument = true")

    held = []
    page.route("**/api/ask", lambda route: held.append(route))
    page.fill("#q", FATHERS)
    page.press("#q", "Enter")
    deadline = time.monotonic() + 10
    while not held and time.monotonic() < deadline:
        page.wait_for_timeout(50)
    # the loading state while the answer is on its way
    assert page.text_content("#status") == "Searching the reports\u2026"
    assert page.text_content("#ask-button") == "Asking\u2026"
    held[0].continue_()
    turn = page.locator("article.turn").first
    turn.locator(".answer-text").wait_for()
    page.unroute("**/api/ask")

    assert page.evaluate("window.__sameDocument") is True, "the page was not reloaded"
    assert turn.locator(".question").inner_text().endswith(FATHERS)
    answer = turn.locator(".answer-text").inner_text()
    assert "fathers" in answer and re.search(r"\[\d+\]", answer)
    card = turn.locator("li.citation").first
    card.inner_text()
    assert card.locator("a.cite-title").inner_text() == expected["title"]
    assert card.locator(".cite-meta").inner_text() == card_meta(expected)
    assert card.locator("blockquote").inner_text() == expected["text"]
    assert quote_parts(card) == parts(expected), "the engine's highlights are marked, nothing else"
    assert any(m.lower().startswith("father") for m in card.locator("mark").all_inner_texts())
    assert card.locator("a.cite-title").get_attribute("href") == f"/doc/{expected['doc_id']}#{expected['anchor']}"
    assert not page.locator("#empty-state").is_visible()
    assert page.evaluate("document.activeElement.id") == "q", "the input keeps focus"
    assert page.input_value("#q") == ""
    spoken = "Answer: " + re.sub(r"\[\d+\]", "", engine.ask(FATHERS)["answer"])
    assert page.text_content("#announcer").split() == spoken.split(), "screen readers hear the new answer"
    assert urlsplit(page.url).path == "/" and parse_qs(urlsplit(page.url).query) == {"q": [FATHERS]}
    assert requests_seen and all(u.startswith(server.base + "/") for u in requests_seen), "no third-party requests"


@pytest.mark.parametrize("question, wanted, unwanted", [
    (MUMS_AND_DADS, {"mother", "father"}, {"mum", "mums", "dad", "dads"}),
    (BEHAVIOR, {"behaviour"}, {"behavior"}),
], ids=["mums-and-dads", "behavior"])
def test_cards_mark_the_words_the_engine_matched(page, server, engine, allowed_host, question, wanted, unwanted):
    """"mums and dads" marks mothers and fathers, "behavior" marks behaviour: in the chat (every
    card, also the folded ones, exactly the engine's spans) and in the widget on an intranet page."""
    result = engine.ask(question)
    page.goto(server.base + "/")
    turn = ask_in_chat(page, question)
    turn.locator(".answer-text").wait_for()
    cards = turn.locator("li.citation")
    assert cards.count() == len(result["passages"])
    for p in result["passages"]:
        assert quote_parts(turn.locator(f"#t1-c{p['rank']}")) == parts(p), p["id"]
    first = first_cited(engine, question)
    marked = {w.lower() for w in turn.locator(f"#t1-c{first['rank']}").locator("mark").all_inner_texts()}
    assert wanted <= marked and not marked & unwanted, marked
    assert turn.locator("li.citation mark").first.is_visible()

    page.goto(allowed_host.origin + "/")
    page.wait_for_selector("[data-qa-widget][data-qa-widget-ready]", state="attached")
    widget = page.locator("[data-qa-widget]")
    widget.locator("input").fill(question)
    widget.locator("input").press("Enter")
    widget.locator(".turn .a").wait_for()
    card = widget.locator(f"li[id$='-c{first['rank']}']")
    assert quote_parts(card) == parts(first)
    assert wanted <= {w.lower() for w in card.locator("mark").all_inner_texts()}


def test_citation_leads_to_highlighted_paragraph(page, server, engine):
    expected = first_cited(engine, FATHERS)
    anchor = expected["anchor"]
    page.goto(server.base + "/")
    turn = ask_in_chat(page, FATHERS)
    turn.locator("a.cite").first.click()
    assert page.evaluate("document.activeElement.id") == "t1-c" + str(expected["rank"])
    turn.locator("li.citation").first.get_by_role("link", name=re.compile("Read in context")).click()
    page.wait_for_url(f"{server.base}/doc/{expected['doc_id']}#{anchor}")
    target = page.locator(f"#{anchor}")
    assert target.locator(".passage-text").inner_text() == expected["text"]
    assert target.evaluate("el => getComputedStyle(el).backgroundColor") == TARGET_BG
    others = page.locator(f".passage:not(#{anchor})")
    assert others.first.evaluate("el => getComputedStyle(el).backgroundColor") != TARGET_BG
    box = target.bounding_box()
    assert 0 <= box["y"] and box["y"] + min(box["height"], 300) <= 900, "scrolled into view"
    assert page.evaluate("document.activeElement.id") == anchor
    # following another passage link on the same page moves the highlight
    other_anchor = others.first.get_attribute("id")
    others.first.locator("a.para-num").click()
    assert page.locator(f"#{other_anchor}").evaluate("el => getComputedStyle(el).backgroundColor") == TARGET_BG
    assert target.evaluate("el => getComputedStyle(el).backgroundColor") != TARGET_BG


def test_follow_up_sends_history_and_new_conversation_clears(page, server):
    page.goto(server.base + "/")
    ask_in_chat(page, FATHERS)
    with page.expect_request(lambda r: r.url.endswith("/api/ask") and r.method == "POST") as req:
        second = ask_in_chat(page, FOLLOW_UP)
    assert json.loads(req.value.post_data) == {"question": FOLLOW_UP, "history": [FATHERS]}
    assert page.locator("article.turn").count() == 2
    second.locator(".answer-text").wait_for()
    assert parse_qs(urlsplit(page.url).query) == {"q": [FOLLOW_UP], "h": [FATHERS]}
    js_answer = second.locator(".answer-text").inner_text()
    # the shareable address renders the same conversation on the server
    page.reload()
    assert page.locator("article.turn").count() == 2
    assert page.locator("article.turn").nth(1).locator(".answer-text").inner_text() == js_answer
    # back to an empty conversation
    page.click("#new-conversation")
    assert page.locator("article.turn").count() == 0
    assert page.locator("#empty-state").is_visible()
    assert page.url == server.base + "/"
    assert page.evaluate("document.activeElement.id") == "q"
    with page.expect_request(lambda r: r.url.endswith("/api/ask")) as req:
        ask_in_chat(page, FOLLOW_UP)
    assert json.loads(req.value.post_data)["history"] == []


def test_example_question_and_not_found_state(page, server):
    page.goto(server.base + "/")
    page.locator("a.example").nth(1).click()
    page.wait_for_selector("article.turn .answer-text")
    assert page.locator("article.turn .question").inner_text().endswith("What did reviews find about fathers?")
    turn = ask_in_chat(page, "How much did the council spend on parking permits in Leeds?")
    body = turn.inner_text()
    assert "Not found in these reports." in body
    assert not turn.locator(".answer-text").count()
    assert turn.locator(".search-note").inner_text() == "No report uses the words “spend”, “parking”, “permits”."
    turn = ask_in_chat(page, "role of fahters")
    assert turn.locator(".search-note").inner_text() == "Read “fahters” as “fathers”."


def test_a_first_question_that_reads_as_a_follow_up_asks_for_the_whole_question(page, server, allowed_host):
    from qa.answer import NEEDS_EARLIER_QUESTION

    page.goto(server.base + "/")
    turn = ask_in_chat(page, "and how many of them died?")
    assert turn.locator(".search-note").inner_text() == NEEDS_EARLIER_QUESTION
    assert not turn.locator(".answer-text").count()
    page.goto(allowed_host.origin + "/")
    page.wait_for_selector("[data-qa-widget][data-qa-widget-ready]", state="attached")
    turn = ask_in_widget(page, "and the year before?")
    assert turn.locator(".note").inner_text() == NEEDS_EARLIER_QUESTION
    assert turn.locator(".nf").inner_text().startswith("Not found in these reports.")


def test_errors_are_shown_and_the_question_kept(page, server):
    page.goto(server.base + "/")
    page.fill("#q", "x" * 500)
    page.evaluate("document.getElementById('q').value += 'yy'")  # past maxlength, as a paste could be
    page.press("#q", "Enter")
    page.wait_for_selector("#status.is-error")
    assert "longer than 500 characters" in page.text_content("#status")
    assert page.locator("article.turn").count() == 0
    assert len(page.input_value("#q")) == 502


CSA = "child sexual abuse"


def test_filter_by_publisher_asks_only_its_reports(page, server, engine):
    # unfiltered, this question is answered from a report that is not Ofsted's
    assert any(p["publisher"] != "Ofsted" for p in engine.ask(CSA)["passages"])
    page.goto(server.base + "/")
    assert not page.locator("#f-publisher").is_visible(), "the filters start folded away"
    assert not page.locator("#filter-summary").is_visible()
    page.locator("#filters > summary").click()
    assert page.locator("#f-publisher").is_visible()
    options = page.locator("#f-publisher option").all_inner_texts()
    assert options[0] == "All publishers" and "Ofsted" in options and len(options) == len(set(options))
    page.select_option("#f-publisher", "Ofsted")
    assert page.locator("#filter-summary").inner_text() == "Only: Ofsted"
    assert page.locator("#clear-filters").is_visible()
    with page.expect_request(lambda r: r.url.endswith("/api/ask") and r.method == "POST") as req:
        turn = ask_in_chat(page, CSA)
    assert json.loads(req.value.post_data) == {"question": CSA, "history": [], "filters": {"publisher": "Ofsted"}}
    turn.locator(".answer-text").wait_for()
    metas = metas_of(turn)
    assert metas and all(m.startswith("Ofsted \u00b7 ") for m in metas), metas
    assert turn.locator(".filter-note").inner_text() == "Only: Ofsted"
    assert parse_qs(urlsplit(page.url).query) == {"q": [CSA], "publisher": ["Ofsted"]}
    # a follow-up keeps the filter; a year narrows it further
    page.fill("#f-from", "2011")
    assert page.locator("#filter-summary").inner_text() == "Only: Ofsted, from 2011"
    with page.expect_request(lambda r: r.url.endswith("/api/ask") and r.method == "POST") as req:
        second = ask_in_chat(page, "what about babies?")
    assert json.loads(req.value.post_data)["filters"] == {"publisher": "Ofsted", "date_from": "2011"}
    second.locator(".filter-note").wait_for()
    metas = metas_of(second)
    assert metas and all(m.startswith("Ofsted \u00b7 2011") for m in metas), metas
    assert parse_qs(urlsplit(page.url).query) == {"q": ["what about babies?"], "h": [CSA],
                                                  "publisher": ["Ofsted"], "date_from": ["2011"]}
    # the shareable address renders the same filters on the server, the disclosure open
    page.reload()
    assert page.locator("#f-publisher").is_visible()
    assert page.input_value("#f-publisher") == "Ofsted" and page.input_value("#f-from") == "2011"
    assert page.locator("#filter-summary").inner_text() == "Only: Ofsted, from 2011"
    metas = metas_of(page.locator("#conversation"))
    assert metas and all(m.startswith("Ofsted \u00b7 2011") for m in metas), metas
    # clearing the filters: the next question is asked of every report
    page.click("#clear-filters")
    assert page.input_value("#f-publisher") == "" and page.input_value("#f-from") == ""
    assert not page.locator("#filter-summary").is_visible()
    with page.expect_request(lambda r: r.url.endswith("/api/ask") and r.method == "POST") as req:
        ask_in_chat(page, CSA)
    assert "filters" not in json.loads(req.value.post_data)
    assert "publisher" not in parse_qs(urlsplit(page.url).query)


def test_a_bad_year_is_caught_before_asking(page, server):
    page.goto(server.base + "/")
    asked = []
    page.on("request", lambda r: asked.append(r.url) if r.url.endswith("/api/ask") else None)
    page.locator("#filters > summary").click()
    page.fill("#f-to", "24")
    page.locator("#filters > summary").click()  # folded away again: the check must still find it
    page.fill("#q", FATHERS)
    page.press("#q", "Enter")
    page.wait_for_selector("#status.is-error")
    assert page.locator("#filters").evaluate("d => d.open")
    assert page.evaluate("document.activeElement.id") == "f-to"
    assert "like 2024" in page.text_content("#status")
    page.wait_for_timeout(200)
    assert asked == [] and page.locator("article.turn").count() == 0


# ---------------------------------------------------------------------------------------------
# Without JavaScript
# ---------------------------------------------------------------------------------------------

def test_chat_works_without_javascript(browser, server):
    ctx = browser.new_context(java_script_enabled=False)
    try:
        page = ctx.new_page()
        page.goto(server.base + "/")
        page.fill("#q", FATHERS)
        page.press("#q", "Enter")
        page.wait_for_url(re.compile(r".*\?q=What\+did\+reviews.*"))
        turn = page.locator("article.turn").first
        assert "fathers" in turn.locator(".answer-text").inner_text()
        assert turn.locator("li.citation").count() >= 1
        page.fill("#q", FOLLOW_UP)
        page.click("#ask-button")
        page.wait_for_url(re.compile(r".*q=and\+for\+babies.*"))
        assert parse_qs(urlsplit(page.url).query) == {"h": [FATHERS], "q": [FOLLOW_UP]}
        assert page.locator("article.turn").count() == 2
        page.locator("article.turn").nth(1).locator("a.cite-title").first.click()
        page.wait_for_url(re.compile(r".*/doc/.*#.*"))
        anchor = urlsplit(page.url).fragment
        assert page.locator(f"#{anchor}").evaluate("el => getComputedStyle(el).backgroundColor") == TARGET_BG
    finally:
        ctx.close()


def test_filters_work_without_javascript(browser, server):
    ctx = browser.new_context(java_script_enabled=False)
    try:
        page = ctx.new_page()
        page.goto(server.base + "/")
        page.locator("#filters > summary").click()
        page.select_option("#f-publisher", "Ofsted")
        page.fill("#f-from", "2011")
        page.fill("#q", CSA)
        page.press("#q", "Enter")
        page.wait_for_url(re.compile(r".*\?q=child.*"))
        query = parse_qs(urlsplit(page.url).query)
        assert query == {"q": [CSA], "publisher": ["Ofsted"], "date_from": ["2011"]}
        metas = metas_of(page.locator("#conversation"))
        assert metas and all(m.startswith("Ofsted \u00b7 2011") for m in metas)
        assert page.locator("#filter-summary").inner_text() == "Only: Ofsted, from 2011"
    finally:
        ctx.close()


# ---------------------------------------------------------------------------------------------
# Embedding
# ---------------------------------------------------------------------------------------------

def test_widget_on_an_allowed_origin_answers(page, server, allowed_host, engine):
    expected = first_cited(engine, FATHERS)
    requests_seen = []
    page.on("request", lambda r: requests_seen.append(r.url))
    page.goto(allowed_host.origin + "/")
    page.wait_for_selector("[data-qa-widget][data-qa-widget-ready]", state="attached")
    widget = page.locator("[data-qa-widget]")
    widget.locator("input").fill(FATHERS)
    widget.locator("input").press("Enter")
    answer = widget.locator(".turn .a")
    answer.wait_for()
    assert "fathers" in answer.inner_text()
    link = widget.locator("li a").first
    assert link.get_attribute("href") == f"{server.base}/doc/{expected['doc_id']}#{expected['anchor']}"
    assert link.get_attribute("target") == "_blank"
    assert widget.locator("li mark").count() >= 1
    # styles are isolated both ways
    assert widget.locator("button[type=submit]").evaluate("el => getComputedStyle(el).backgroundColor") \
        != "rgb(255, 105, 180)"
    assert widget.locator("p.meta").first.evaluate("el => getComputedStyle(el).color") != "rgb(0, 128, 0)"
    assert page.locator("#host-text").evaluate("el => getComputedStyle(el).color") == "rgb(0, 128, 0)"
    assert page.locator("#host-text").evaluate("el => getComputedStyle(el).fontFamily").startswith("Georgia")
    # follow-up inside the widget carries the history
    with page.expect_request(lambda r: r.url == server.base + "/api/ask" and r.method == "POST") as req:
        ask_in_widget(page, FOLLOW_UP)
    assert json.loads(req.value.post_data)["history"] == [FATHERS]
    assert ask_in_widget(page, "role of fahters").locator(".note").inner_text() == "Read “fahters” as “fathers”."
    origins = {f"{urlsplit(u).scheme}://{urlsplit(u).netloc}" for u in requests_seen}
    assert origins <= {allowed_host.origin, server.base}


def test_widget_on_another_origin_is_refused(page, server, other_host):
    page.goto(other_host.origin + "/")
    page.wait_for_selector("[data-qa-widget][data-qa-widget-ready]", state="attached")
    widget = page.locator("[data-qa-widget]")
    widget.locator("input").fill(FATHERS)
    widget.locator("input").press("Enter")
    status = widget.locator("p.status.err")
    status.wait_for()
    assert "cannot be reached" in status.inner_text()
    assert widget.locator(".turn").count() == 0


def test_embed_page_can_be_framed_only_by_allowed_origin(page, server, allowed_host, other_host):
    page.goto(allowed_host.origin + "/frame")
    frame = page.frame_locator("iframe")
    frame.locator("#q").fill(FATHERS)
    frame.locator("#q").press("Enter")
    frame.locator("article.turn .answer-text").wait_for()
    assert "fathers" in frame.locator("article.turn .answer-text").inner_text()
    assert frame.locator("a.cite-title").first.get_attribute("target") == "_blank"
    page.goto(other_host.origin + "/frame")
    page.wait_for_timeout(500)
    child = page.frames[1]
    assert child.url.startswith("chrome-error:") or child.locator("#q").count() == 0


def test_answer_card_renders_in_an_iframe_without_javascript(browser, server, allowed_host):
    ctx = browser.new_context(java_script_enabled=False)
    try:
        page = ctx.new_page()
        page.goto(allowed_host.origin + "/card")
        frame = page.frame_locator("iframe")
        assert "fathers" in frame.locator(".answer-text").inner_text()
        assert frame.locator("li.citation").count() >= 1
    finally:
        ctx.close()


# ---------------------------------------------------------------------------------------------
# Accessibility, phones, print, keyboard
# ---------------------------------------------------------------------------------------------

AXE_PAGES = ["/", "/?q=What+did+reviews+find+about+fathers%3F",
             "/?q=child+sexual+abuse&publisher=Ofsted&date_from=2011",  # the filters open and in use
             "/?q=child+sexual+abuse&date_to=24",  # a filter in error
             "/?q=How+much+did+the+council+spend+on+parking+permits+in+Leeds%3F",
             f"/doc/{DOC}#p-62", "/docs", "/embed", "/embed/answer?q=fathers", "/doc/no-such-report"]


def serious(results) -> list[str]:
    return [f"{v['id']} ({v['impact']}): {v['help']} - {[n['target'] for n in v['nodes']][:3]}"
            for v in results.response["violations"] if v.get("impact") in ("serious", "critical")]


def test_accessibility_scan(page, server, allowed_host):
    from axe_playwright_python.sync_playwright import Axe

    axe = Axe()
    # the scan does find problems: a page with an unlabelled field and faint text fails it
    page.set_content('<html lang="en"><title>t</title><body><main><input type="text">'
                     '<p style="color:#ddd;background:#fff">faint</p></main></body></html>')
    assert len(serious(axe.run(page))) >= 2
    problems = {}
    for path in AXE_PAGES:
        page.goto(server.base + path)
        found = serious(axe.run(page))
        if found:
            problems[path] = found
    # the chat page after a JavaScript answer, and the widget on its host page
    page.goto(server.base + "/")
    ask_in_chat(page, FATHERS).locator(".answer-text").wait_for()
    found = serious(axe.run(page))
    if found:
        problems["/ after asking"] = found
    # the filter disclosure opened by hand, a publisher chosen and asked with
    page.goto(server.base + "/")
    page.locator("#filters > summary").click()
    page.select_option("#f-publisher", "Ofsted")
    assert page.locator("#f-publisher").is_visible() and page.locator("#clear-filters").is_visible()
    ask_in_chat(page, CSA).locator(".filter-note").wait_for()
    found = serious(axe.run(page))
    if found:
        problems["/ with the filters open"] = found
    page.goto(allowed_host.origin + "/")
    widget = page.locator("[data-qa-widget]")
    widget.locator("input").fill(FATHERS)
    widget.locator("input").press("Enter")
    widget.locator(".turn .a").wait_for()
    found = serious(axe.run(page, context={"include": [["[data-qa-widget]"]]}))
    if found:
        problems["widget"] = found
    assert not problems, json.dumps(problems, indent=1)


def test_readable_on_a_phone(browser, server):
    ctx = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True)
    try:
        page = ctx.new_page()
        for path in ["/?q=What+did+reviews+find+about+fathers%3F", f"/doc/{DOC}", "/docs",
                     "/?q=child+sexual+abuse&publisher=Ofsted&date_from=2011&doc=" + DOC]:
            page.goto(server.base + path)
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 360, f"{path} scrolls sideways ({width}px)"
        page.goto(server.base + "/?q=What+did+reviews+find+about+fathers%3F")
        size = page.locator(".answer-text").evaluate("el => parseFloat(getComputedStyle(el).fontSize)")
        assert size >= 16
    finally:
        ctx.close()


def test_print_shows_the_conversation_not_the_controls(page, server):
    page.goto(server.base + "/?q=What+did+reviews+find+about+fathers%3F")
    page.emulate_media(media="print")
    assert not page.locator("#ask-form").is_visible()
    assert not page.locator(".site-header").is_visible()
    assert page.locator(".answer-text").is_visible()
    assert page.locator("li.citation").first.is_visible()


def test_keyboard_only_use_with_visible_focus(page, server):
    page.goto(server.base + "/docs")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    assert page.locator(".skip-link").is_visible()
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    page.goto(server.base + "/")
    assert page.evaluate("document.activeElement.id") == "q", "the question box has focus on arrival"
    page.keyboard.type(FATHERS)
    page.keyboard.press("Enter")
    page.wait_for_selector("article.turn .answer-text")
    for _ in range(40):  # walk backwards from the input into the answer's links
        page.keyboard.press("Shift+Tab")
        if page.evaluate("document.activeElement.classList.contains('cite')"):
            break
    assert page.evaluate("document.activeElement.classList.contains('cite')")
    style = page.evaluate("""() => { const s = getComputedStyle(document.activeElement);
        return [s.outlineStyle, s.boxShadow, s.backgroundColor]; }""")
    assert style[0] != "none" or style[1] != "none", style
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.classList.contains('citation')")


# ---------------------------------------------------------------------------------------------
# Script injection in the real browser (CSP bypassed, so escaping alone must hold)
# ---------------------------------------------------------------------------------------------

@pytest.fixture()
def unsafe_page(browser):
    ctx = browser.new_context(bypass_csp=True)
    page = ctx.new_page()
    page.dialogs = []
    page.on("dialog", lambda d: (page.dialogs.append(d.message), d.dismiss()))
    yield page
    ctx.close()


def assert_nothing_ran(page, root="document"):
    assert page.evaluate("typeof window.__xss") == "undefined"
    assert page.dialogs == []
    injected = page.evaluate(f"""() => {{
        const root = {root};
        const all = Array.from(root.querySelectorAll('*'));
        return all.filter(el => ['IMG', 'B', 'IFRAME', 'OBJECT'].includes(el.tagName)
                || Array.from(el.attributes).some(a => a.name.startsWith('on')
                || /^\\s*javascript:/i.test(a.value))).map(el => el.outerHTML.slice(0, 80));
    }}""")
    assert injected == []


def test_no_script_runs_from_questions_or_reports(unsafe_page, server, allowed_host):
    page = unsafe_page
    page.goto(server.base + "/")
    for q in XSS_QUESTIONS:
        ask_in_chat(page, q)
    page.wait_for_timeout(300)
    assert_nothing_ran(page)
    text = page.locator("#conversation").inner_text()
    assert '<script>window.__xss=(window.__xss||0)+1;alert("script")</script>' in text
    assert "<img src=x onerror=" in text and 'href="javascript:' in text
    # the same conversation rendered by the server, then the viewer, the list and the card
    page.reload()
    page.wait_for_timeout(200)
    assert page.locator("article.turn").count() == len(XSS_QUESTIONS)
    assert_nothing_ran(page)
    for path in [f"/doc/{XSS_DOC_ID}#p-2", "/docs", "/embed/answer?q=zebrafinch+checklist",
                 "/embed/answer?q=" + XSS_QUESTIONS[-1]]:
        page.goto(server.base + path)
        page.wait_for_timeout(200)
        assert_nothing_ran(page)
        assert "window.__xss" in page.locator("main").inner_text(), path
    # the widget on an intranet page
    page.goto(allowed_host.origin + "/")
    widget = page.locator("[data-qa-widget]")
    for q in XSS_QUESTIONS:
        ask_in_widget(page, q)
    page.wait_for_timeout(300)
    assert_nothing_ran(page, root="document.querySelector('[data-qa-widget]').shadowRoot")
    assert "<script>" in widget.locator(".log").inner_text()


def test_broken_or_hostile_highlights_stay_text(unsafe_page, server, allowed_host):
    """A result whose passage text holds markup and characters outside the BMP, and whose highlight
    spans are partly broken (not int pairs, out of range, overlapping, out of order): the chat and the
    widget mark exactly what the server marks (code-point offsets, bad spans ignored) and run nothing."""
    page = unsafe_page
    expected = [[seg, hit] for seg, hit in highlight_segments(MARKED_TEXT, MARKED_SPANS)]

    def tamper(route):
        if route.request.method != "POST":
            route.continue_()
            return
        response = route.fetch()
        body = response.json()
        body["passages"] = [{**p, "text": MARKED_TEXT, "highlights": MARKED_SPANS} for p in body["passages"]]
        route.fulfill(response=response, json=body)

    page.route("**/api/ask", tamper)
    page.goto(server.base + "/")
    turn = ask_in_chat(page, FATHERS)
    turn.locator(".answer-text").wait_for()
    quotes = turn.locator("li.citation")
    assert quotes.count() >= 1
    for i in range(quotes.count()):
        assert quote_parts(quotes.nth(i)) == expected
    assert_nothing_ran(page)

    page.goto(allowed_host.origin + "/")
    widget = page.locator("[data-qa-widget]")
    widget.locator("input").fill(FATHERS)
    widget.locator("input").press("Enter")
    widget.locator(".turn .a").wait_for()
    cards = widget.locator("li")
    assert cards.count() >= 1
    for i in range(cards.count()):
        assert quote_parts(cards.nth(i)) == expected
    page.wait_for_timeout(200)
    assert_nothing_ran(page, root="document.querySelector('[data-qa-widget]').shadowRoot")
