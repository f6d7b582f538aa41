"""Who reaches the protocol's pages and endpoints: staff only (anyone else 404, anonymous users the login or 403),
with the same actors and helpers as the project-wide access matrix (tests/security/test_access_matrix.py).

The rows below are the protocol's entries for that matrix; every protocol route must have one here."""
import pytest

from tests.security.test_access_matrix import (  # noqa: F401  (world is a fixture)
    API_DENIED,
    LOGIN,
    TRUTH_KEYS,
    TRUTH_WORDS,
    Row,
    body_text,
    client_for,
    outcome,
    request,
    routed_patterns,
    world,
)

S = "paper"
STAFF_ONLY_PAGE = (LOGIN, 404, 404, 200)
STAFF_ONLY_API = (API_DENIED, 404, 404, 200)
# fmt: off
PROTOCOL_ROWS = [
    Row("studies/<slug:slug>/protocol/", "get", f"/studies/{S}/protocol/", STAFF_ONLY_PAGE),
    Row("studies/<slug:slug>/protocol/status/", "post", f"/studies/{S}/protocol/status/", (LOGIN, 404, 404, 302)),
    Row("studies/<slug:slug>/protocol/cues/", "post", f"/studies/{S}/protocol/cues/", (LOGIN, 404, 404, 302)),
    Row("studies/<slug:slug>/sequences/", "get", f"/studies/{S}/sequences/", STAFF_ONLY_PAGE),
    Row("studies/<slug:slug>/readers/", "get", f"/studies/{S}/readers/", STAFF_ONLY_PAGE),
    Row("studies/<slug:slug>/readers/<str:pseudonym>/reset/", "post", f"/studies/{S}/readers/R1/reset/",
        (LOGIN, 404, 404, 302)),
    Row("invite/<str:token>/", "get", "/invite/no-such-invitation/", (404, 404, 404, 404)),
    Row("api/studies/<slug:slug>/protocol/", "get", f"/api/studies/{S}/protocol/", STAFF_ONLY_API),
    Row("api/studies/<slug:slug>/status/", "post", f"/api/studies/{S}/status/", STAFF_ONLY_API, {"status": "paused"}),
    Row("api/studies/<slug:slug>/audit/", "get", f"/api/studies/{S}/audit/", STAFF_ONLY_API),
    Row("api/studies/<slug:slug>/sequences/", "get", f"/api/studies/{S}/sequences/", STAFF_ONLY_API),
    Row("api/studies/<slug:slug>/sequences.csv", "get", f"/api/studies/{S}/sequences.csv", STAFF_ONLY_API),
    Row("api/studies/<slug:slug>/sequences/check/", "get", f"/api/studies/{S}/sequences/check/", STAFF_ONLY_API),
    Row("api/studies/<slug:slug>/cues/", "get", f"/api/studies/{S}/cues/", STAFF_ONLY_API),
    Row("api/studies/<slug:slug>/practice-images/", "post", f"/api/studies/{S}/practice-images/",
        (API_DENIED, 404, 404, 400)),
    Row("api/studies/<slug:slug>/invitations/", "post", f"/api/studies/{S}/invitations/", (API_DENIED, 404, 404, 201)),
    Row("api/studies/<slug:slug>/readers/<str:pseudonym>/reset/", "post", f"/api/studies/{S}/readers/R1/reset/",
        STAFF_ONLY_API),
    Row("api/studies/<slug:slug>/export.imrmc", "get", f"/api/studies/{S}/export.imrmc", STAFF_ONLY_API),
    Row("api/studies/<slug:slug>/export-long.csv", "get", f"/api/studies/{S}/export-long.csv", STAFF_ONLY_API),
]
# fmt: on
ACTORS = ("anonymous", "reader", "outsider", "staff")
PROTOCOL_PREFIXES = ("studies/<slug:slug>/protocol/", "studies/<slug:slug>/sequences/",
                     "studies/<slug:slug>/readers/", "invite/", "api/studies/<slug:slug>/protocol/",
                     "api/studies/<slug:slug>/status/", "api/studies/<slug:slug>/audit/",
                     "api/studies/<slug:slug>/sequences", "api/studies/<slug:slug>/cues/",
                     "api/studies/<slug:slug>/practice-images/", "api/studies/<slug:slug>/invitations/",
                     "api/studies/<slug:slug>/readers/<str:pseudonym>/", "api/studies/<slug:slug>/export.imrmc",
                     "api/studies/<slug:slug>/export-long.csv")


def test_every_protocol_route_has_a_row():
    protocol_routes = {pattern for pattern in routed_patterns() if pattern.startswith(PROTOCOL_PREFIXES)}
    assert protocol_routes == {row.pattern for row in PROTOCOL_ROWS}


@pytest.mark.parametrize("row", PROTOCOL_ROWS, ids=lambda row: f"{row.method}:{row.pattern}")
def test_protocol_access(world, row):  # noqa: F811
    for actor, expected in zip(ACTORS, row.expected, strict=True):
        response = request(client_for(world, actor), row, world)
        assert outcome(response) == expected, f"{actor}: {row.path}"
        if actor in ("reader", "outsider"):
            text = body_text(response)
            assert not TRUTH_KEYS.search(text) and not TRUTH_WORDS.search(text), f"{actor}: {row.path}"
