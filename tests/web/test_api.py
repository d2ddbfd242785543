"""The JSON API, the pages and the security layer through Flask's test client."""

from __future__ import annotations

import json
import logging
import re
from html import unescape
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from flask import render_template_string
from hypothesis import given, settings
from hypothesis import strategies as st
from markupsafe import escape

from qa.web.core import highlight_segments

from .conftest import BEHAVIOR, MARKED_SPANS, MARKED_TEXT, MARKED_WORDS, MUMS_AND_DADS, XSS_DOC_ID

FATHERS = "What did reviews find about fathers?"
NOT_FOUND_CANDIDATES = ["How many reviews involved dogs?", "What did reviews say about horse riding lessons?",
                        "Which football clubs ran training for social workers?",
                        "How much did the council spend on parking permits?"]
DOC = "003_4f43f8225b928628"


def ask(client, question, **extra):
    return client.post("/api/ask", json={"question": question, **extra})


def assert_json_error(resp, status, code=None):
    assert resp.status_code == status, resp.data[:300]
    assert resp.mimetype == "application/json", resp.data[:300]
    body = resp.get_json()
    assert set(body) == {"error"}
    assert isinstance(body["error"]["code"], str) and body["error"]["code"]
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    if code:
        assert body["error"]["code"] == code
    text = resp.get_data(as_text=True)
    assert "Traceback" not in text and "<html" not in text.lower()
    return body["error"]


class Elements(HTMLParser):
    """Collects (tag, attrs) of every element of a page."""

    def __init__(self):
        super().__init__()
        self.elements: list[tuple[str, dict]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def parse(html: str) -> Elements:
    p = Elements()
    p.feed(html)
    return p


# ---------------------------------------------------------------------------------------------
# /api/ask
# ---------------------------------------------------------------------------------------------

def test_post_ask_returns_cited_answer_with_working_urls(client):
    resp = ask(client, FATHERS)
    assert resp.status_code == 200
    result = resp.get_json()
    assert result["status"] == "answered"
    assert "father" in result["answer"].lower()
    cited = {int(n) for n in re.findall(r"\[(\d+)\]", result["answer"])}
    ranks = {p["rank"] for p in result["passages"]}
    assert cited and cited <= ranks
    for p in result["passages"]:
        url = urlsplit(p["url"])
        assert url.scheme == "http" and url.netloc == "localhost"
        assert url.path == f"/doc/{p['doc_id']}" and url.fragment == p["anchor"]
    first = result["passages"][0]
    page = client.get(urlsplit(first["url"]).path)
    assert page.status_code == 200
    assert f'id="{first["anchor"]}"' in page.get_data(as_text=True)


def test_passages_carry_the_engines_highlights(client, engine):
    result = ask(client, MUMS_AND_DADS).get_json()
    expected = engine.ask(MUMS_AND_DADS)
    assert [p["highlights"] for p in result["passages"]] == [p["highlights"] for p in expected["passages"]]
    for p in result["passages"]:
        end = 0
        for start, stop in p["highlights"]:
            assert end <= start < stop <= len(p["text"])
            end = stop
    words = {p["text"][a:b].lower() for p in result["passages"] for a, b in p["highlights"]}
    assert "mother" in words and "father" in words
    schema = client.get("/api/openapi.json").get_json()["components"]["schemas"]["Passage"]
    assert schema["properties"]["highlights"]["items"]["items"]["type"] == "integer"


def test_get_ask_matches_post(client):
    post = ask(client, FATHERS, top_k=3).get_json()
    get = client.get("/api/ask", query_string={"q": FATHERS, "top_k": "3"}).get_json()
    assert [p["id"] for p in get["passages"]] == [p["id"] for p in post["passages"]]
    assert len(get["passages"]) == 3
    assert get["answer"] == post["answer"]


def test_history_reaches_the_engine(client, engine):
    follow_up = "and for babies?"
    expected = engine.ask(follow_up, history=[FATHERS])
    assert [p["id"] for p in expected["passages"]] != [p["id"] for p in engine.ask(follow_up)["passages"]], \
        "precondition: the engine answers this follow-up differently with history"
    post = ask(client, follow_up, history=[FATHERS]).get_json()
    get = client.get("/api/ask", query_string=[("q", follow_up), ("h", FATHERS)]).get_json()
    for result in (post, get):
        assert [p["id"] for p in result["passages"]] == [p["id"] for p in expected["passages"]]
        assert result["answer"] == expected["answer"]


@pytest.fixture(scope="session")
def not_found_question(engine):
    """A question the reports do not answer but that has passages close to it."""
    for q in NOT_FOUND_CANDIDATES:
        r = engine.ask(q)
        if r["status"] == "not_found" and r["passages"]:
            return q
    pytest.fail("none of the candidate questions is 'not found' with passages looked in")


def test_not_found_is_distinct_and_shows_where_it_looked(client, not_found_question):
    result = ask(client, not_found_question).get_json()
    assert result["status"] == "not_found"
    assert result["answer"] is None
    assert result["sentences"] == []
    assert result["passages"], "the closest passages looked in are listed"
    assert all(p["url"].startswith("http://localhost/doc/") for p in result["passages"])


def test_top_k_default_and_limit(client):
    assert len(ask(client, FATHERS).get_json()["passages"]) == 5
    assert len(ask(client, FATHERS, top_k=20).get_json()["passages"]) == 20


def test_filters_are_passed_to_the_engine(client):
    only = ask(client, FATHERS, filters={"doc": "002_0b7d055dc6b96ce3"}).get_json()
    assert only["passages"] and {p["doc_id"] for p in only["passages"]} == {"002_0b7d055dc6b96ce3"}
    dated = ask(client, FATHERS, filters={"date_to": "2010-12"}).get_json()
    assert dated["passages"] and all(p["date"] <= "2010-12" for p in dated["passages"])
    pub = client.get("/api/ask", query_string={"q": FATHERS, "publisher": "Local Safeguarding"}).get_json()
    assert pub["passages"] and all("Local Safeguarding" in p["publisher"] for p in pub["passages"])
    both = client.get("/api/ask", query_string=[("q", FATHERS), ("doc", DOC), ("doc", "002_0b7d055dc6b96ce3")])
    assert {p["doc_id"] for p in both.get_json()["passages"]} <= {DOC, "002_0b7d055dc6b96ce3"}


LONG = "x" * 501


@pytest.mark.parametrize("body, status, code", [
    ({}, 400, "missing_question"),
    ({"question": ""}, 400, "empty_question"),
    ({"question": "   \n\t "}, 400, "empty_question"),
    ({"question": None}, 400, "missing_question"),
    ({"question": 42}, 400, "invalid_type"),
    ({"question": ["a"]}, 400, "invalid_type"),
    ({"question": {"$ne": 1}}, 400, "invalid_type"),
    ({"question": "fathers", "history": "earlier"}, 400, "invalid_type"),
    ({"question": "fathers", "history": [1, 2]}, 400, "invalid_type"),
    ({"question": "fathers", "history": [["nested"]]}, 400, "invalid_type"),
    ({"question": "fathers", "history": [None]}, 400, "invalid_type"),
    ({"question": "fathers", "history": None}, 400, "invalid_type"),
    ({"question": "fathers", "top_k": None}, 400, "invalid_type"),
    ({"question": "fathers", "filters": {"doc": None}}, 400, "invalid_type"),
    ({"question": "fathers", "filters": {"publisher": 3}}, 400, "invalid_type"),
    ({"question": "fathers", "history": ["q"] * 11}, 422, "history_too_long"),
    ({"question": "fathers", "history": ["q"] * 100000}, 413, "body_too_large"),
    ({"question": "fathers", "history": [LONG]}, 422, "question_too_long"),
    ({"question": "fathers", "top_k": "5"}, 400, "invalid_type"),
    ({"question": "fathers", "top_k": 5.5}, 400, "invalid_type"),
    ({"question": "fathers", "top_k": True}, 400, "invalid_type"),
    ({"question": "fathers", "top_k": 0}, 422, "top_k_out_of_range"),
    ({"question": "fathers", "top_k": 21}, 422, "top_k_out_of_range"),
    ({"question": "fathers", "top_k": -1}, 422, "top_k_out_of_range"),
    ({"question": "fathers", "top_k": 10 ** 40}, 422, "top_k_out_of_range"),
    ({"question": LONG}, 422, "question_too_long"),
    ({"question": "fathers\u0000"}, 400, "invalid_characters"),
    ({"question": "fath\u0007ers"}, 400, "invalid_characters"),
    ({"question": "fathers \u0085"}, 400, "invalid_characters"),
    ({"question": "fathers", "history": ["a\u001bb"]}, 400, "invalid_characters"),
    ({"question": "fathers", "filters": "all"}, 400, "invalid_type"),
    ({"question": "fathers", "filters": {"doc": 7}}, 400, "invalid_type"),
    ({"question": "fathers", "filters": {"date_from": "last year"}}, 400, "invalid_date"),
])
def test_bad_json_bodies_get_json_errors(client, body, status, code):
    assert_json_error(client.post("/api/ask", json=body), status, code)


@pytest.mark.parametrize("data, content_type, status, code", [
    (b'{"question": "fathers"}', "text/plain", 415, "unsupported_media_type"),
    (b"question=fathers", "application/x-www-form-urlencoded", 415, "unsupported_media_type"),
    (b'{"question": "fathers"}', None, 415, "unsupported_media_type"),
    (b'{"question": "fath\xffers"}', "application/json", 400, "invalid_encoding"),
    (b'{"question": "\xc3\x28"}', "application/json", 400, "invalid_encoding"),
    (b'{"question": "a\\ud800b"}', "application/json", 400, "invalid_characters"),
    (b'{"question": "fathers"', "application/json", 400, "invalid_json"),
    (b"", "application/json", 400, "invalid_json"),
    (b"null", "application/json", 400, "invalid_type"),
    (b'["fathers"]', "application/json", 400, "invalid_type"),
    (b'"fathers"', "application/json", 400, "invalid_type"),
    (b"[" * 5000 + b"]" * 5000, "application/json", 400, "invalid_json"),
    (b'{"a":' * 2000 + b"1" + b"}" * 2000, "application/json", 400, "invalid_json"),
    (b'{"question": "fathers", "top_k": NaN}', "application/json", 400, "invalid_type"),
    (b'{"question": "fathers", "top_k": 1' + b"0" * 5000 + b"}", "application/json", 400, "invalid_json"),
    (b'{"question": "' + b"a" * 20000 + b'"}', "application/json", 413, "body_too_large"),
])
def test_hostile_bodies_get_json_errors(client, data, content_type, status, code):
    headers = {"Content-Type": content_type} if content_type else {}
    assert_json_error(client.post("/api/ask", data=data, headers=headers), status, code)


def test_json_with_charset_and_bom_is_accepted(client):
    resp = client.post("/api/ask", data="\ufeff" + json.dumps({"question": FATHERS}),
                       content_type="application/json; charset=utf-8")
    assert resp.status_code == 200 and resp.get_json()["status"] == "answered"


@pytest.mark.parametrize("query, status, code", [
    ("", 400, "missing_question"),
    ("q=", 400, "empty_question"),
    ("q=%20%20", 400, "empty_question"),
    ("q=fathers&top_k=abc", 400, "invalid_type"),
    ("q=fathers&top_k=0", 422, "top_k_out_of_range"),
    ("q=fathers&top_k=21", 422, "top_k_out_of_range"),
    ("q=fathers&top_k=99999999999999999999", 400, "invalid_type"),
    ("q=fath%FFers", 400, "invalid_encoding"),
    ("q=fath%00ers", 400, "invalid_characters"),
    ("q=a&q=b", 400, "repeated_parameter"),
    ("q=fathers&" + "&".join(["h=x"] * 11), 422, "history_too_long"),
    ("q=fathers&" + "&".join(f"p{i}=1" for i in range(5000)), 400, "too_many_parameters"),
    ("q=" + "x" * 501, 422, "question_too_long"),
    ("q=fathers&date_from=yesterday", 400, "invalid_date"),
])
def test_bad_query_strings_get_json_errors(client, query, status, code):
    assert_json_error(client.get("/api/ask?" + query), status, code)


def test_api_404_405_are_json(client):
    assert_json_error(client.get("/api/nothing-here"), 404, "not_found")
    err = client.delete("/api/ask")
    assert_json_error(err, 405, "method_not_allowed")
    assert "POST" in err.headers["Allow"]
    assert_json_error(client.put("/api/documents"), 405, "method_not_allowed")
    assert_json_error(client.get("/api/documents/no-such-doc"), 404, "unknown_document")


def test_engine_failure_is_a_json_500_without_details(make_app, access_lines):
    class Broken:
        def ask(self, *a, **k):
            raise RuntimeError(" ".join(["secret", "internal", "detail"]))

        def reload_if_changed(self):
            return False

    app = make_app(ENGINE=Broken())
    resp = app.test_client().post("/api/ask", json={"question": "fathers"})
    error = assert_json_error(resp, 500, "internal_error")
    assert "secret" not in error["message"]
    page = app.test_client().get("/?q=fathers")
    assert page.status_code == 500 and page.mimetype == "text/html"
    assert "secret" not in page.get_data(as_text=True) and "Traceback" not in page.get_data(as_text=True)
    logged = "\n".join(access_lines)
    assert "unhandled RuntimeError on POST /api/ask" in logged  # the operator sees where it failed
    assert "secret internal detail" not in logged  # but not the message, which may quote a question


# ---------------------------------------------------------------------------------------------
# Documents, health, OpenAPI
# ---------------------------------------------------------------------------------------------

def test_documents_catalogue_with_counts(client, engine):
    docs = client.get("/api/documents").get_json()["documents"]
    assert len(docs) == 6
    by_id = {d["doc_id"]: d for d in docs}
    assert by_id[DOC]["title"] == "Learning lessons from serious case reviews 2009–2010"
    assert all(isinstance(d["passages"], int) and d["passages"] > 0 for d in docs)
    health = client.get("/healthz").get_json()
    assert health["index_loaded"] is True and health["status"] == "ok"
    assert health["passages"] == sum(d["passages"] for d in docs)
    assert health["documents"] == 6 and health["fingerprint"]
    assert client.get("/docs?format=json").get_json()["documents"] == docs


def test_document_json_twin(client):
    doc = client.get(f"/doc/{DOC}.json").get_json()
    assert doc["doc_id"] == DOC and doc["publisher"] == "Ofsted"
    anchors = [p["anchor"] for p in doc["passages"]]
    assert "p-62" in anchors and len(anchors) == len(set(anchors))
    assert doc["passages"][0]["url"].startswith(f"http://localhost/doc/{DOC}#")
    assert client.get(f"/doc/{DOC}?format=json").get_json() == doc
    assert client.get(f"/api/documents/{DOC}").get_json() == doc
    assert_json_error(client.get("/doc/nope.json"), 404, "unknown_document")


def test_openapi_describes_the_real_routes(client, app):
    spec = client.get("/api/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    assert spec["paths"]["/api/ask"]["post"]["requestBody"]["content"]["application/json"]
    rules = {r.rule for r in app.url_map.iter_rules()}
    for path in spec["paths"]:
        assert re.sub(r"\{(\w+)\}", r"<\1>", path) in rules
    top_k = spec["components"]["schemas"]["AskRequest"]["properties"]["top_k"]
    assert (top_k["minimum"], top_k["maximum"]) == (1, 20)


# ---------------------------------------------------------------------------------------------
# Pages without JavaScript
# ---------------------------------------------------------------------------------------------

def test_chat_page_empty_state_and_form(client):
    resp = client.get("/")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    els = parse(html)
    forms = [a for t, a in els.elements if t == "form"]
    assert forms[0]["method"] == "get" and forms[0]["action"] == "/"
    assert ("label", {"for": "q", "class": "ask-label"}) in els.elements
    assert ("div", {"id": "announcer", "class": "visually-hidden", "aria-live": "polite"}) in els.elements
    examples = [a["href"] for t, a in els.elements if t == "a" and a.get("class") == "example"]
    assert len(examples) >= 3 and all(h.startswith("/?q=") for h in examples)
    # each example question really gets an answer
    for href in examples:
        q = client.get(href + "&format=json").get_json()
        assert q["status"] == "answered", href


def test_chat_page_renders_answer_server_side(client):
    html = client.get("/", query_string={"q": FATHERS}).get_data(as_text=True)
    els = parse(html)
    cites = [a["href"] for t, a in els.elements if t == "a" and a.get("class") == "cite"]
    assert cites and all(re.fullmatch(r"#t1-c\d+", h) for h in cites)
    ids = {a.get("id") for _, a in els.elements}
    assert all(h[1:] in ids for h in cites)
    links = [a["href"] for t, a in els.elements if t == "a" and a.get("class") == "cite-title"]
    assert f"/doc/{DOC}#p-62" in links
    assert "<mark>fathers</mark>" in html
    assert sorted(quotes(html)) == sorted(engine_quotes(client, FATHERS))
    hidden = [a["value"] for t, a in els.elements if t == "input" and a.get("name") == "h"]
    assert hidden == [FATHERS], "the next question continues this conversation"


def test_chat_page_follow_up_shows_whole_conversation(client, engine):
    html = client.get("/", query_string=[("q", "and for babies?"), ("h", FATHERS)]).get_data(as_text=True)
    first, second = html.index(FATHERS + "</h2>"), html.index("and for babies?</h2>")
    assert first < second
    els = parse(html)
    assert [a["value"] for t, a in els.elements if t == "input" and a.get("name") == "h"] == [FATHERS, "and for babies?"]
    turn2 = html[html.index('id="turn-2"'):]
    follow = engine.ask("and for babies?", history=[FATHERS])
    assert f'href="/doc/{follow["passages"][0]["doc_id"]}#{follow["passages"][0]["anchor"]}"' in turn2


def test_plain_form_post_redirects_to_the_shareable_address(client):
    resp = client.post("/", data={"q": "and for babies?", "h": FATHERS})
    assert resp.status_code == 303
    assert resp.headers["Location"] == "/?q=and+for+babies?&h=What+did+reviews+find+about+fathers?"
    page = client.get(resp.headers["Location"])
    assert page.status_code == 200 and page.get_data(as_text=True).count('class="turn"') == 2
    assert client.post("/", data={"q": "  "}).headers["Location"] == "/"


def _controls(html):
    """name -> value of the chat form's filter controls, and the option texts of each select."""
    els = parse(html)
    values, options, current = {}, {}, None
    for tag, attrs in els.elements:
        if tag == "select":
            current = attrs["name"]
            options[current] = []
            values[current] = []
        elif tag == "option" and current:
            options[current].append(attrs["value"])
            if "selected" in attrs:
                values[current].append(attrs["value"])
        elif tag == "input" and attrs.get("name") in ("date_from", "date_to"):
            values[attrs["name"]] = attrs.get("value", "")
    return values, options


def test_chat_page_filters_by_year_and_shows_the_choice(client, engine):
    dates = {d["doc_id"]: d["date"] for d in engine.documents()}
    question = "child sexual abuse"
    # without the filter older reports answer too, so the filter below has something to do
    assert any(dates[p["doc_id"]] < "2024" for p in engine.ask(question)["passages"])
    resp = client.get("/", query_string={"q": question, "date_from": "2024"})
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    els = parse(html)
    cited = [urlsplit(a["href"]).path for t, a in els.elements if t == "a" and a.get("class") == "cite-title"]
    assert cited and all(dates[path.rsplit("/", 1)[1]] >= "2024" for path in cited)
    values, options = _controls(html)
    assert values["date_from"] == "2024" and values["date_to"] == ""
    assert values["publisher"] == [] and values["doc"] == []
    assert ("details", {"id": "filters", "class": "filters", "open": None}) in els.elements
    assert "Only: from 2024" in html, "the filter in effect is said in words"
    assert '<p class="filter-note"><span class="filter-note-label">Only:</span> from 2024</p>' in html
    # the select lists every publisher of the index once, after "All publishers"
    publishers = sorted({d["publisher"] for d in engine.documents() if d["publisher"]}, key=str.casefold)
    assert options["publisher"] == [""] + publishers
    assert options["doc"][0] == "" and sorted(options["doc"][1:]) == sorted(dates)
    # a publisher chosen in the shared URL is the selected option and only its reports answer
    html = client.get("/", query_string={"q": question, "publisher": "Ofsted", "date_to": "2011"}).get_data(as_text=True)
    values, _ = _controls(html)
    assert values["publisher"] == ["Ofsted"] and values["date_to"] == "2011"
    metas = [m for m in re.findall(r'<p class="cite-meta">([^<]*)</p>', html)]
    assert metas and all(m.strip().startswith("Ofsted · ") for m in metas)
    assert "Only: Ofsted, up to 2011" in html
    # the links that start over keep the filters
    new = [a["href"] for t, a in parse(html).elements if t == "a" and a.get("id") == "new-conversation"]
    assert new == ["/?publisher=Ofsted&date_to=2011"]


def test_chat_page_without_filters_keeps_the_disclosure_closed(client):
    html = client.get("/", query_string={"q": FATHERS}).get_data(as_text=True)
    els = parse(html)
    assert ("details", {"id": "filters", "class": "filters"}) in els.elements
    assert "filter-note" not in html and "Only:" not in html
    for name, label in (("f-publisher", "Publisher"), ("f-doc", "Report"), ("f-from", "From year"),
                        ("f-to", "To year")):
        assert re.search(rf'<label for="{name}">{label}</label>', html), name
    # filters alone preselect the form for the first question
    html = client.get("/?publisher=Ofsted&date_from=2010").get_data(as_text=True)
    values, _ = _controls(html)
    assert values["publisher"] == ["Ofsted"] and values["date_from"] == "2010"
    assert 'id="filter-summary" class="filter-summary">Only: Ofsted, from 2010</span>' in html


def test_chat_page_bad_filter_is_shown_on_its_field(client):
    resp = client.get("/", query_string={"q": FATHERS, "date_from": "24"})
    assert resp.status_code == 400 and resp.mimetype == "text/html"
    html = resp.get_data(as_text=True)
    els = parse(html)
    field = next(a for t, a in els.elements if t == "input" and a.get("name") == "date_from")
    assert field["value"] == "24" and field["aria-invalid"] == "true"
    assert field["aria-describedby"].split()[0] == "filter-error"
    assert re.search(r'<p id="filter-error" class="error" role="alert">From year must be a year like 2024', html)
    assert ("details", {"id": "filters", "class": "filters", "open": None}) in els.elements
    q = next(a for t, a in els.elements if t == "input" and a.get("name") == "q")
    assert q["value"] == FATHERS and "aria-invalid" not in q
    # a plain form post keeps the filters in the address it redirects to
    resp = client.post("/", data={"q": FATHERS, "publisher": "Ofsted", "date_from": "", "doc": ""})
    assert resp.headers["Location"] == "/?q=What+did+reviews+find+about+fathers?&publisher=Ofsted"


def test_body_size_limit_is_exact(make_app):
    c = make_app(QA_MAX_BODY_BYTES="1000").test_client()
    def body(n):
        text = json.dumps({"question": "fathers", "history": ["x" * 10]})
        return text[:-1] + " " * (n - len(text)) + "}"
    assert c.post("/api/ask", data=body(1000), content_type="application/json").status_code == 200
    assert_json_error(c.post("/api/ask", data=body(1001), content_type="application/json"), 413, "body_too_large")


def test_chat_page_not_found_state(client, not_found_question):
    html = client.get("/", query_string={"q": not_found_question}).get_data(as_text=True)
    assert "Not found in these reports." in html
    assert "closest sections" in html
    assert 'class="citations looked-in"' in html


def test_chat_page_bad_input_keeps_the_form(client):
    resp = client.get("/?q=" + "x" * 600)
    assert resp.status_code == 422 and resp.mimetype == "text/html"
    html = resp.get_data(as_text=True)
    assert 'role="alert"' in html and "longer than 500 characters" in html
    assert client.get("/?q=a%00b").status_code == 400
    resp = client.get("/?" + "&".join(f"h=q{i}" for i in range(30)) + "&q=fathers")
    assert resp.status_code == 200  # the page keeps the last 10 earlier questions
    assert resp.get_data(as_text=True).count('class="turn"') == 11


def test_document_viewer_every_passage_has_its_anchor(client):
    doc = client.get(f"/doc/{DOC}.json").get_json()
    html = client.get(f"/doc/{DOC}").get_data(as_text=True)
    ids = [a["id"] for t, a in parse(html).elements if "passage" in a.get("class", "").split()]
    assert ids == [p["anchor"] for p in doc["passages"]]
    assert "Learning lessons from serious case reviews 2009–2010" in html
    assert "Ofsted" in html and "2010-10" in html


def test_unknown_document_page_is_a_404_page(client):
    resp = client.get("/doc/does-not-exist")
    assert resp.status_code == 404 and resp.mimetype == "text/html"
    assert "There is no report with this id." in resp.get_data(as_text=True)
    resp = client.get("/no/such/page")
    assert resp.status_code == 404 and resp.mimetype == "text/html"


def test_docs_list_page(client):
    html = client.get("/docs").get_data(as_text=True)
    docs = client.get("/api/documents").get_json()["documents"]
    links = [a["href"] for t, a in parse(html).elements if t == "a" and a.get("href", "").startswith("/doc/")]
    assert sorted(links) == sorted(f"/doc/{d['doc_id']}" for d in docs)
    for d in docs:
        assert f'<td class="num">{d["passages"]}</td>' in html


def test_answer_card_needs_no_javascript(client):
    resp = client.get("/embed/answer", query_string={"q": FATHERS})
    html = resp.get_data(as_text=True)
    els = parse(html)
    assert resp.status_code == 200
    assert not [a for t, a in els.elements if t == "script"]
    assert "Many of the serious case reviews commented on the lack of attention" in html
    doc_links = [a for t, a in els.elements if t == "a" and "/doc/" in a.get("href", "")]
    assert doc_links and all(a["href"].startswith("http://localhost/doc/") and a["target"] == "_blank"
                             for a in doc_links)
    chat = [a["href"] for t, a in els.elements if t == "a" and "/?q=" in a.get("href", "")]
    assert chat and chat[0].startswith("http://localhost/?q=What+did+reviews")
    assert client.get("/embed/answer").status_code == 400


def test_widget_script_and_embed_page(client):
    js = client.get("/widget.js")
    assert js.status_code == 200 and js.mimetype == "text/javascript"
    assert js.headers["Cross-Origin-Resource-Policy"] == "cross-origin"
    assert "attachShadow" in js.get_data(as_text=True)
    embed = client.get("/embed").get_data(as_text=True)
    scripts = [a["src"] for t, a in parse(embed).elements if t == "script"]
    assert any("embed.js" in s for s in scripts)


# ---------------------------------------------------------------------------------------------
# Highlighting: the pages mark the engine's spans, nothing of their own
# ---------------------------------------------------------------------------------------------

def quotes(html: str) -> list[tuple[str, list[str]]]:
    """(text, marked words) of every source card's quote on a page, as the reader sees them."""
    out = []
    for inner in re.findall(r'<blockquote class="cite-text">(.*?)</blockquote>', html, re.S):
        out.append((unescape(re.sub(r"</?mark>", "", inner)),
                    [unescape(m) for m in re.findall(r"<mark>(.*?)</mark>", inner, re.S)]))
    return out


def engine_quotes(client, question) -> list[tuple[str, list[str]]]:
    result = ask(client, question).get_json()
    return [(p["text"], [p["text"][a:b] for a, b in p["highlights"]]) for p in result["passages"]]


@pytest.mark.parametrize("path", ["/", "/embed/answer"])
def test_mums_and_dads_marks_mothers_and_fathers_without_javascript(client, path):
    html = client.get(path, query_string={"q": MUMS_AND_DADS}).get_data(as_text=True)
    cards = quotes(html)
    assert sorted(cards) == sorted(engine_quotes(client, MUMS_AND_DADS)), "every card, every mark"
    marked = {w.lower() for _, words in cards for w in words}
    assert "mother" in marked and "father" in marked
    assert not any(re.search(r"\b(mum|dad)s?\b", text, re.I) for text, _ in cards), \
        "the question's own words are not in the quotes: the equivalents are what is marked"
    first_words = {w.lower() for w in cards[0][1]}
    assert {"mother", "father"} <= first_words, "the first source card marks both"


@pytest.mark.parametrize("path", ["/", "/embed/answer"])
def test_american_spelling_marks_the_british_word(client, path):
    html = client.get(path, query_string={"q": BEHAVIOR}).get_data(as_text=True)
    cards = quotes(html)
    assert sorted(cards) == sorted(engine_quotes(client, BEHAVIOR))
    assert "behaviour" in cards[0][1]
    assert not any("behavior" in words for _, words in cards)


def test_highlight_segments_follow_the_spans():
    text = "Mothers and fathers were seen."
    assert highlight_segments(text, [[0, 7], [12, 19]]) == [
        ("Mothers", True), (" and ", False), ("fathers", True), (" were seen.", False)]
    assert highlight_segments(text, ((0, 7), (7, 11))) == [("Mothers", True), (" and", True),
                                                           (" fathers were seen.", False)]
    assert highlight_segments(text, [[0, len(text)]]) == [(text, True)]
    assert highlight_segments(text, []) == highlight_segments(text, None) == [(text, False)]
    assert highlight_segments("", [[0, 1]]) == highlight_segments(None, [[0, 1]]) == []


@pytest.mark.parametrize("spans", [
    [[0.0, 7]], [[True, 7]], [[0, False]], [[0, "7"]], [["0", "7"]], [[0]], [[0, 7, 9]], [[]], [None],
    ["0,7"], [{"start": 0, "end": 7}], [[-1, 7]], [[7, 7]], [[7, 0]], [[0, 31]], [[30, 31]],
    [[10 ** 30, 10 ** 30 + 1]], "0,7", {"0": 7}, 7, [[12, 19], [0, 7]], [[0, 7], [5, 12]],
])
def test_bad_highlight_spans_are_ignored(spans):
    text = "Mothers and fathers were seen."
    segments = highlight_segments(text, spans)
    assert "".join(s for s, _ in segments) == text
    kept = [s for s, hit in segments if hit]
    assert kept in ([], ["fathers"], ["Mothers"]), "only the in-order, in-range int pairs"


span_items = st.one_of(st.lists(st.integers(-3, 40), min_size=2, max_size=2),
                       st.lists(st.integers(-3, 40), max_size=3), st.none(), st.booleans(), st.floats(),
                       st.text(max_size=3), st.tuples(st.booleans(), st.integers(0, 40)))


@settings(max_examples=300, deadline=None, database=None)
@given(text=st.text(max_size=30), spans=st.lists(span_items, max_size=8))
def test_highlight_segments_keep_the_text_whole(text, spans):
    segments = highlight_segments(text, spans)
    assert "".join(s for s, _ in segments) == text
    assert all(s for s, _ in segments)
    assert not any(not a[1] and not b[1] for a, b in zip(segments, segments[1:]))
    expected, pos = [], 0
    for span in spans:
        if (isinstance(span, list) and len(span) == 2 and all(type(x) is int for x in span)
                and pos <= span[0] < span[1] <= len(text)):
            expected.append(text[span[0]:span[1]])
            pos = span[1]
    assert [s for s, hit in segments if hit] == expected


def test_marks_around_hostile_text_are_still_text(app):
    with app.test_request_context():
        html = render_template_string('{% from "macros.html" import passage_text with context %}{{ passage_text(t, h) }}',
                                      t=MARKED_TEXT, h=MARKED_SPANS)
    assert html == "".join(f"<mark>{escape(s)}</mark>" if hit else str(escape(s))
                           for s, hit in highlight_segments(MARKED_TEXT, MARKED_SPANS))
    assert [unescape(m) for m in re.findall(r"<mark>(.*?)</mark>", html)] == MARKED_WORDS
    assert {tag for tag, _ in parse(html).elements} == {"mark"}
    assert "<script" not in html and "<img" not in html


class MarkingEngine:
    """The real engine, but every passage has MARKED_TEXT and MARKED_SPANS as text and highlights."""

    def __init__(self, real):
        self.real = real

    def ask(self, *args, **kwargs):
        result = self.real.ask(*args, **kwargs)
        return {**result, "passages": [{**p, "text": MARKED_TEXT, "highlights": MARKED_SPANS}
                                       for p in result["passages"]]}

    def __getattr__(self, name):
        return getattr(self.real, name)


@pytest.mark.parametrize("path", ["/", "/embed/answer"])
def test_pages_mark_broken_or_hostile_highlights_safely(make_app, engine, path):
    client = make_app(ENGINE=MarkingEngine(engine)).test_client()
    resp = client.get(path, query_string={"q": FATHERS})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    cards = quotes(html)
    assert cards and all(card == (MARKED_TEXT, MARKED_WORDS) for card in cards)
    for tag, attrs in parse(html).elements:
        assert tag not in ("img", "script") or (tag == "script" and attrs["src"].startswith("/static/"))
    api = client.post("/api/ask", json={"question": FATHERS})
    assert api.status_code == 200, "the JSON passes broken spans on unchanged: each client ignores them"


# ---------------------------------------------------------------------------------------------
# Script injection, server side
# ---------------------------------------------------------------------------------------------

XSS_QUESTION = '<img src=x onerror="window.__xss=1"><script>window.__xss=1</script> zebrafinch protocol'


@pytest.mark.parametrize("url", [
    "/?q=" + XSS_QUESTION,
    "/?q=What+does+the+zebrafinch+protocol+require%3F&h=" + XSS_QUESTION,
    f"/doc/{XSS_DOC_ID}",
    "/docs",
    "/embed/answer?q=" + XSS_QUESTION,
    "/embed/answer?q=zebrafinch+checklist",
])
def test_hostile_text_is_escaped_in_pages(client, url):
    html = client.get(url).get_data(as_text=True)
    els = parse(html)
    for tag, attrs in els.elements:
        assert tag not in ("img", "b", "iframe", "object"), (tag, attrs)
        assert not any(k.startswith("on") for k in attrs), (tag, attrs)
        for k in ("href", "src", "action"):
            assert not attrs.get(k, "").strip().lower().startswith("javascript:"), (tag, attrs)
        if tag == "script":
            assert set(attrs) == {"src", "defer"} and attrs["src"].startswith("/static/")
    text = "".join(els.text)
    assert "window.__xss" in text, "the hostile text is shown as text"


def test_javascript_source_url_is_not_a_link(client):
    html = client.get(f"/doc/{XSS_DOC_ID}").get_data(as_text=True)
    assert "javascript:window.__xss=(window.__xss||0)+1" in html  # shown as text
    assert 'href="javascript' not in html.lower()


# ---------------------------------------------------------------------------------------------
# Headers, framing, CORS
# ---------------------------------------------------------------------------------------------

def csp(resp) -> dict[str, str]:
    out = {}
    for part in resp.headers["Content-Security-Policy"].split(";"):
        name, _, value = part.strip().partition(" ")
        out[name] = value
    return out


def test_security_headers_on_pages_and_api(client):
    for url in ["/", "/?q=fathers", f"/doc/{DOC}", "/docs", "/embed", "/doc/nope"]:
        resp = client.get(url)
        policy = csp(resp)
        assert policy["script-src"] == "'self'", url
        assert "unsafe-inline" not in resp.headers["Content-Security-Policy"]
        assert policy["default-src"] == "'none'" and policy["object-src"] == "'none'"
        assert policy["frame-ancestors"] == "'none'", url
        assert resp.headers["X-Frame-Options"] == "DENY"
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        assert resp.headers["Referrer-Policy"] == "no-referrer"
        assert "Set-Cookie" not in resp.headers
    api = ask(client, FATHERS)
    assert api.headers["X-Content-Type-Options"] == "nosniff"
    assert api.headers["Cache-Control"] == "no-store"
    assert "Access-Control-Allow-Origin" not in api.headers
    assert client.get("/?q=fathers").headers["Cache-Control"] == "no-store"


def test_frame_ancestors_come_from_configuration(make_app):
    c = make_app(QA_FRAME_ANCESTORS="https://intranet.example.gov.uk 'self'").test_client()
    for url in ["/embed", "/embed/answer?q=fathers"]:
        resp = c.get(url)
        assert csp(resp)["frame-ancestors"] == "https://intranet.example.gov.uk 'self'"
        assert "X-Frame-Options" not in resp.headers
    assert csp(c.get("/"))["frame-ancestors"] == "'none'"
    assert c.get("/").headers["X-Frame-Options"] == "DENY"


def test_bad_configuration_fails_at_start(make_app):
    from qa.web import ConfigError

    for bad in [{"QA_FRAME_ANCESTORS": "https://a.example; script-src *"},
                {"QA_ALLOWED_ORIGINS": "https://a.example/path"},
                {"QA_TOP_K_MAX": "50"}, {"QA_TOP_K_DEFAULT": "abc"}, {"QA_LOG_QUESTIONS": "maybe"}]:
        with pytest.raises(ConfigError):
            make_app(**bad)


def test_cors_closed_by_default(client):
    resp = client.post("/api/ask", json={"question": FATHERS}, headers={"Origin": "https://intranet.example"})
    assert resp.status_code == 200
    assert "Access-Control-Allow-Origin" not in resp.headers
    pre = client.options("/api/ask", headers={"Origin": "https://intranet.example",
                                              "Access-Control-Request-Method": "POST",
                                              "Access-Control-Request-Headers": "content-type"})
    assert_json_error(pre, 403, "origin_not_allowed")
    assert "Access-Control-Allow-Origin" not in pre.headers


def test_cors_only_for_configured_origins_and_only_on_api(make_app):
    c = make_app(QA_ALLOWED_ORIGINS="https://intranet.example, https://training.example:8443").test_client()
    pre = c.options("/api/ask", headers={"Origin": "https://intranet.example",
                                         "Access-Control-Request-Method": "POST",
                                         "Access-Control-Request-Headers": "content-type"})
    assert pre.status_code == 204
    assert pre.headers["Access-Control-Allow-Origin"] == "https://intranet.example"
    assert "POST" in pre.headers["Access-Control-Allow-Methods"]
    assert "content-type" in pre.headers["Access-Control-Allow-Headers"].lower()
    resp = c.post("/api/ask", json={"question": FATHERS}, headers={"Origin": "https://training.example:8443"})
    assert resp.headers["Access-Control-Allow-Origin"] == "https://training.example:8443"
    assert "Origin" in resp.headers.get_all("Vary")[0]
    assert "Access-Control-Allow-Credentials" not in resp.headers
    other = c.post("/api/ask", json={"question": FATHERS}, headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers
    page = c.get("/docs", headers={"Origin": "https://intranet.example"})
    assert "Access-Control-Allow-Origin" not in page.headers
    assert c.options("/api/ask", headers={"Origin": "http://intranet.example",  # other scheme
                                          "Access-Control-Request-Method": "POST"}).status_code == 403


# ---------------------------------------------------------------------------------------------
# Rate limiting
# ---------------------------------------------------------------------------------------------

def test_rate_limit_answers_429_with_retry_after(make_app):
    app = make_app(QA_RATE_LIMIT="3 per minute")
    c = app.test_client()
    for _ in range(3):
        assert c.post("/api/ask", json={"question": FATHERS}).status_code == 200
    resp = c.post("/api/ask", json={"question": FATHERS})
    assert_json_error(resp, 429, "rate_limited")
    assert 0 < int(resp.headers["Retry-After"]) <= 60
    # the pages that ask share the budget; browsing does not use it
    assert c.get("/?q=fathers").status_code == 429
    assert c.get("/embed/answer?q=fathers").status_code == 429
    assert c.get("/").status_code == 200 and c.get(f"/doc/{DOC}").status_code == 200
    assert c.get("/healthz").status_code == 200 and c.get("/api/documents").status_code == 200
    # another client has its own budget
    other = c.post("/api/ask", json={"question": FATHERS}, environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert other.status_code == 200


# ---------------------------------------------------------------------------------------------
# Reverse proxy under a sub-path
# ---------------------------------------------------------------------------------------------

PROXY = {"X-Forwarded-Prefix": "/safeguarding-qa", "X-Forwarded-Host": "intranet.example.gov.uk",
         "X-Forwarded-Proto": "https", "X-Forwarded-For": "192.0.2.7"}


def test_urls_honour_the_proxy_prefix(client):
    result = client.post("/api/ask", json={"question": FATHERS}, headers=PROXY).get_json()
    assert result["passages"][0]["url"].startswith("https://intranet.example.gov.uk/safeguarding-qa/doc/")
    html = client.get("/?q=fathers", headers=PROXY).get_data(as_text=True)
    els = parse(html)
    for tag, attrs in els.elements:
        for key in ("href", "src", "action", "data-api", "data-home"):
            value = attrs.get(key)
            if value and value.startswith("/"):
                assert value.startswith("/safeguarding-qa/"), (tag, key, value)
    assert any(a.get("data-api") == "/safeguarding-qa/api/ask" for _, a in els.elements)
    spec = client.get("/api/openapi.json", headers=PROXY).get_json()
    assert spec["servers"][0]["url"] == "/safeguarding-qa"


def test_index_rebuilt_on_disk_is_picked_up(tmp_path, corpus_dir):
    from qa.index import build_index
    from qa.web import create_app

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name in ("002_0b7d055dc6b96ce3.txt", "catalogue.toml"):
        (corpus / name).write_bytes((corpus_dir / name).read_bytes())
    index = tmp_path / "index"
    app = create_app({"QA_CORPUS": str(corpus), "QA_INDEX": str(index), "QA_RATE_LIMIT": "1000/minute"})
    c = app.test_client()
    assert c.get("/api/ask?q=zebrafinch+protocol").get_json()["status"] == "not_found"
    (corpus / f"{XSS_DOC_ID}.txt").write_text("1. The zebrafinch protocol requires a home visit within a week.\n",
                                             encoding="utf-8")
    build_index(corpus, index)
    result = c.get("/api/ask?q=What+does+the+zebrafinch+protocol+require%3F").get_json()
    assert result["status"] == "answered" and "within a week" in result["answer"]
    assert c.get("/healthz").get_json()["documents"] == 2


# ---------------------------------------------------------------------------------------------
# Privacy of the logs
# ---------------------------------------------------------------------------------------------

class Capture(logging.Handler):
    def __init__(self):
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record):
        self.lines.append(record.getMessage())


@pytest.fixture()
def access_lines():
    handler = Capture()
    logger = logging.getLogger("qa.web")
    logger.addHandler(handler)
    yield handler.lines
    logger.removeHandler(handler)


SECRET = "What did reviews find about fathers of Jayden Smith-Okafor?"


def test_logs_have_no_question_text(client, access_lines):
    result = client.post("/api/ask", json={"question": SECRET, "history": ["Kayleigh's stepfather"]}).get_json()
    client.get("/", query_string={"q": SECRET})
    client.get("/api/ask", query_string={"q": SECRET, "h": "Kayleigh's stepfather"})
    client.get("/embed/answer", query_string={"q": SECRET})
    client.post("/api/ask", json={"question": SECRET, "top_k": 0})
    joined = "\n".join(access_lines)
    assert "Jayden" not in joined and "Kayleigh" not in joined and "Okafor" not in joined
    post_line = access_lines[0]
    assert re.fullmatch(r"POST /api/ask 200 \d+\.\dms passages=\S+", post_line), post_line
    assert post_line.endswith("passages=" + ",".join(p["id"] for p in result["passages"]))
    assert re.match(r"GET / 200 ", access_lines[1])
    assert re.match(r"POST /api/ask 422 ", access_lines[-1])


def test_questions_logged_only_when_enabled(make_app, access_lines):
    c = make_app(QA_LOG_QUESTIONS="1").test_client()
    c.post("/api/ask", json={"question": SECRET})
    assert "Jayden Smith-Okafor" in access_lines[-1]


def test_chat_page_and_api_say_how_the_question_was_read(client):
    result = ask(client, "role of fahters in parking permits").get_json()
    assert result["search"] == {"corrected": {"fahters": "fathers"}, "not_in_reports": ["parking", "permits"], "needs_earlier_question": False}
    html = client.get("/", query_string={"q": "role of fahters in parking permits"}).get_data(as_text=True)
    note = re.search(r'<p class="search-note">(.*?)</p>', html, re.S).group(1)
    assert unescape(re.sub(r"<[^>]+>", "", note)) == "Read “fahters” as “fathers”. No report uses the words “parking”, “permits”."


def test_a_follow_up_sent_without_history_asks_for_the_whole_question(client):
    from qa.answer import NEEDS_EARLIER_QUESTION

    alone = ask(client, "and how many of them died?").get_json()
    assert alone["status"] == "not_found" and alone["search"]["needs_earlier_question"] is True
    followed = ask(client, "and how many of them died?", history=["how many children were covered by the 2009-10 reviews?"]).get_json()
    assert followed["status"] == "answered" and followed["search"]["needs_earlier_question"] is False
    html = client.get("/", query_string={"q": "and how many of them died?"}).get_data(as_text=True)
    note = re.search(r'<p class="search-note">(.*?)</p>', html, re.S).group(1)
    assert unescape(note) == NEEDS_EARLIER_QUESTION
    assert "Not found in these reports." in html
