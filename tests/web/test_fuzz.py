"""Generated input: schemathesis against /api/openapi.json, hypothesis against /api/ask and the pages.

Whatever is sent, the answer is a JSON object (never HTML, never a 500) and, for errors, has the
{"error": {"code", "message"}} shape.
"""

from __future__ import annotations

import json

import pytest
import schemathesis
from schemathesis import GenerationMode
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

GENERATED = settings(max_examples=60, deadline=None, database=None, suppress_health_check=list(HealthCheck))


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["valid", "invalid"])
def test_api_conforms_to_its_openapi_description(app, mode):
    """Every documented operation, with data that fits the description and data that does not:
    schemathesis' checks (no server error, documented status codes, content types and response
    schemas, invalid data rejected) must all pass."""
    api_schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    seen_status: set[int] = set()

    @settings(max_examples=120, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(case=api_schema.as_strategy(generation_mode=mode))
    def run(case):
        response = case.call_and_validate()
        seen_status.add(response.status_code)

    run()
    if mode == GenerationMode.POSITIVE:
        assert 200 in seen_status
    else:
        assert seen_status & {400, 404, 405, 413, 415, 422}


json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=60)
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=5)
                           | st.dictionaries(st.text(max_size=10), inner, max_size=5), max_leaves=30)
ask_bodies = st.fixed_dictionaries({}, optional={
    "question": json_values | st.text(max_size=600),
    "history": json_values | st.lists(st.text(max_size=80), max_size=14),
    "top_k": json_values | st.integers(-5, 30),
    "filters": json_values | st.fixed_dictionaries({}, optional={
        "doc": json_values, "publisher": json_values, "date_from": json_values, "date_to": json_values}),
})


def check_json_answer(resp):
    assert resp.status_code < 500, resp.data[:300]
    assert resp.mimetype == "application/json"
    body = json.loads(resp.data)
    if resp.status_code >= 400:
        assert set(body) == {"error"} and body["error"]["code"] and body["error"]["message"]
    else:
        assert body["status"] in ("answered", "not_found")
        assert all(p["url"].startswith("http://localhost/doc/") for p in body["passages"])


@GENERATED
@given(body=ask_bodies | json_values)
def test_ask_never_fails_on_any_json(client, body):
    check_json_answer(client.post("/api/ask", json=body))


@GENERATED
@given(raw=st.binary(max_size=400))
def test_ask_never_fails_on_any_bytes(client, raw):
    check_json_answer(client.post("/api/ask", data=raw, content_type="application/json"))


query_keys = st.sampled_from(["q", "h", "top_k", "doc", "publisher", "date_from", "date_to", "format", "x"])
query_values = st.text(max_size=40) | st.binary(max_size=20).map(lambda b: b.decode("latin-1"))


@GENERATED
@given(params=st.lists(st.tuples(query_keys, query_values), max_size=15))
def test_ask_and_pages_never_fail_on_any_query(client, params):
    check_json_answer(client.get("/api/ask", query_string=params))
    for url in ("/", "/embed/answer"):
        resp = client.get(url, query_string=params)
        assert resp.status_code < 500, (url, params)
        assert resp.mimetype in ("text/html", "application/json")
