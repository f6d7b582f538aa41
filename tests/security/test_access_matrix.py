"""One table over every URL the project routes x {anonymous, reader of this study, reader of another study, admin of
this study ("staff"), admin of another study}.

The URL resolver is walked, so a route added without a row here fails ``test_every_routed_url_has_an_expectation``.
Each row gives the request to make and the outcome expected for each actor; every reader response is also checked
for truth fields (source, is_real, truth, and the finding in a study that hides it); so is every response to the admin
of another study, who must get 404 for everything of this one (its pages, exports, jobs, images' truth).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from readerstudy.batches.models import Batch
from readerstudy.jobs.models import GenerationJob
from readerstudy.studies.models import Invitation, Membership
from tests.factories import LOGIN, access_outcome, client_for

ACTORS = ("anonymous", "reader", "outsider", "staff", "other_admin")
NOT_OF_THIS_STUDY = ("anonymous", "reader", "outsider", "other_admin")  # bodies searched for truth
ADMIN_PREFIX = "admin/"
API_DENIED = 403  # DRF's answer to an anonymous caller (SessionAuthentication comes first, it sends no challenge)


def routed_patterns() -> set[str]:
    """Every route the resolver knows, as its full pattern string (e.g. ``api/studies/<slug:slug>/next/``)."""

    def walk(patterns, prefix: str):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                yield prefix + str(pattern.pattern)

    return set(walk(get_resolver().url_patterns, ""))


@dataclass(frozen=True)
class Row:
    pattern: str
    method: str
    path: str  # with {token}, {batch}, {draft_batch}, {job} filled from the world
    expected: tuple  # for ACTORS, in order
    body: object = None
    # The page names the platform's sources by design (the New study page's choices), not any study's truth.
    names_sources: bool = False


S = "paper"
STAFF_ONLY_PAGE = (LOGIN, 404, 404, 200, 404)
STAFF_ONLY_API = (API_DENIED, 404, 404, 200, 404)
# fmt: off
ROWS = [
    Row("accounts/login/", "get", "/accounts/login/", (200, 200, 200, 200, 200)),
    Row("accounts/logout/", "post", "/accounts/logout/", (LOGIN, LOGIN, LOGIN, LOGIN, LOGIN)),
    Row("accounts/password/", "get", "/accounts/password/", (LOGIN, 200, 200, 200, 200)),
    Row("accounts/password/done/", "get", "/accounts/password/done/", (LOGIN, 200, 200, 200, 200)),
    Row("api/schema/", "get", "/api/schema/", (200, 200, 200, 200, 200)),  # describes the API, holds no data
    Row("api/docs/", "get", "/api/docs/", (200, 200, 200, 200, 200)),
    Row("", "get", "/", (LOGIN, 200, 200, 200, 200)),
    Row("resume/", "get", "/resume/", (LOGIN, 302, 302, 302, 302)),
    Row("studies/<slug:slug>/read/", "get", f"/studies/{S}/read/", (LOGIN, 200, 404, 404, 404)),
    Row("studies/<slug:slug>/finished/", "get", f"/studies/{S}/finished/", (LOGIN, 302, 404, 404, 404)),
    Row(r"^i/(?P<token>[A-Za-z0-9_-]{16,40})\.png$", "get", "/i/{token}.png", (404, 200, 404, 200, 404)),
    Row("api/auth/token/", "post", "/api/auth/token/", (400, 400, 400, 400, 400), {"username": "x", "password": "y"}),
    Row("api/studies/", "get", "/api/studies/", (API_DENIED, 200, 200, 200, 200)),
    Row("api/studies/<slug:slug>/next/", "get", f"/api/studies/{S}/next/", (API_DENIED, 200, 404, 404, 404)),
    Row("api/studies/<slug:slug>/votes/", "post", f"/api/studies/{S}/votes/", (API_DENIED, 201, 404, 404, 404), "VOTE"),
    Row("api/studies/<slug:slug>/progress/", "get", f"/api/studies/{S}/progress/", (API_DENIED, 200, 404, 404, 404)),
    # Going back: refused where the study does not allow it (this one), and ahead of the reader in any study.
    Row("api/studies/<slug:slug>/sequence/<int:position>/", "get", f"/api/studies/{S}/sequence/1/",
        (API_DENIED, 403, 404, 404, 404)),
    Row("api/studies/<slug:slug>/readers/", "post", f"/api/studies/{S}/readers/", (API_DENIED, 404, 404, 201, 404),
        {"username": "newbie"}),
    Row("api/studies/<slug:slug>/open/", "post", "/api/studies/draft-study/open/", (API_DENIED, 404, 404, 200, 404)),
    Row("api/studies/<slug:slug>/admins/", "get", f"/api/studies/{S}/admins/", STAFF_ONLY_API),
    Row("api/studies/<slug:slug>/admins/", "post", f"/api/studies/{S}/admins/", (API_DENIED, 404, 404, 201, 404),
        {"username": "newcomer"}),
    Row("api/studies/<slug:slug>/admins/<str:username>/", "delete", f"/api/studies/{S}/admins/co-admin/",
        (API_DENIED, 404, 404, 204, 404)),
    Row("studies/<slug:slug>/batches/", "get", f"/studies/{S}/batches/", (LOGIN, 404, 404, 200, 404)),
    Row("studies/<slug:slug>/batches/<int:batch_id>/", "get", f"/studies/{S}/batches/{{batch}}/",
        (LOGIN, 404, 404, 200, 404)),
    Row("studies/<slug:slug>/batches/<int:batch_id>/delete/", "post",
        "/studies/draft-study/batches/{draft_batch}/delete/", (LOGIN, 404, 404, 302, 404)),
    Row("studies/<slug:slug>/batches/<int:batch_id>/audit/", "get", f"/studies/{S}/batches/{{batch}}/audit/",
        STAFF_ONLY_PAGE),
    # The quality figure needs per-image values in the batch's audit: the world's batch has them.
    Row("studies/<slug:slug>/batches/<int:batch_id>/quality.png", "get", f"/studies/{S}/batches/{{batch}}/quality.png",
        STAFF_ONLY_PAGE),
    Row("studies/<slug:slug>/batches/<int:batch_id>/quality.svg", "get", f"/studies/{S}/batches/{{batch}}/quality.svg",
        STAFF_ONLY_PAGE),
    Row("api/studies/<slug:slug>/batches/", "get", f"/api/studies/{S}/batches/", (API_DENIED, 404, 404, 200, 404)),
    Row("api/studies/<slug:slug>/batches/<int:batch_id>/", "get", f"/api/studies/{S}/batches/{{batch}}/",
        (API_DENIED, 404, 404, 200, 404)),
    Row("studies/<slug:slug>/results/", "get", f"/studies/{S}/results/", (LOGIN, 404, 404, 200, 404)),
    Row("studies/<slug:slug>/results/chart.png", "get", f"/studies/{S}/results/chart.png", (LOGIN, 404, 404, 200, 404)),
    Row("studies/<slug:slug>/results/chart.svg", "get", f"/studies/{S}/results/chart.svg", (LOGIN, 404, 404, 200, 404)),
    Row("studies/<slug:slug>/results/headline.png", "get", f"/studies/{S}/results/headline.png",
        (LOGIN, 404, 404, 200, 404)),
    Row("studies/<slug:slug>/results/headline.svg", "get", f"/studies/{S}/results/headline.svg",
        (LOGIN, 404, 404, 200, 404)),
    Row("api/studies/<slug:slug>/report.md", "get", f"/api/studies/{S}/report.md", STAFF_ONLY_API),
    # Where readers marked (issue 27): the study's admins only; a reader never sees anyone's marks.
    Row("studies/<slug:slug>/results/marks/heatmap.png", "get", f"/studies/{S}/results/marks/heatmap.png",
        STAFF_ONLY_PAGE),
    Row("studies/<slug:slug>/results/marks/heatmap.svg", "get", f"/studies/{S}/results/marks/heatmap.svg",
        STAFF_ONLY_PAGE),
    Row("studies/<slug:slug>/results/marks/cases.png", "get", f"/studies/{S}/results/marks/cases.png",
        STAFF_ONLY_PAGE),
    Row("studies/<slug:slug>/results/marks/cases.svg", "get", f"/studies/{S}/results/marks/cases.svg",
        STAFF_ONLY_PAGE),
    Row("studies/<slug:slug>/results/marks/case/<str:public_id>.png", "get",
        f"/studies/{S}/results/marks/case/{{case}}.png", STAFF_ONLY_PAGE),
    Row("studies/<slug:slug>/results/marks/jafroc.xlsx", "get", f"/studies/{S}/results/marks/jafroc.xlsx",
        STAFF_ONLY_PAGE),
    Row("api/studies/<slug:slug>/table1/", "get", f"/api/studies/{S}/table1/", (API_DENIED, 404, 404, 200, 404)),
    Row("api/studies/<slug:slug>/statistics/", "get", f"/api/studies/{S}/statistics/",
        (API_DENIED, 404, 404, 200, 404)),
    Row("api/studies/<slug:slug>/export.csv", "get", f"/api/studies/{S}/export.csv", (API_DENIED, 404, 404, 200, 404)),
    # A reader's own score exists only once the study is closed; while it is open the member is told so (403).
    Row("api/studies/<slug:slug>/my-score/", "get", f"/api/studies/{S}/my-score/", (API_DENIED, 403, 404, 404, 404)),
    Row("studies/<slug:slug>/my-score/", "get", f"/studies/{S}/my-score/", (LOGIN, 403, 404, 404, 404)),
    Row("studies/<slug:slug>/generate/", "get", f"/studies/{S}/generate/", (LOGIN, 404, 404, 200, 404)),
    Row("studies/<slug:slug>/generate/<int:job_id>/", "get", f"/studies/{S}/generate/{{job}}/",
        (LOGIN, 404, 404, 200, 404)),
    Row("studies/<slug:slug>/generate/<int:job_id>/status/", "get", f"/studies/{S}/generate/{{job}}/status/",
        (LOGIN, 404, 404, 200, 404)),
    # The study protocol (readerstudy/protocol): staff only.
    Row("studies/<slug:slug>/protocol/", "get", f"/studies/{S}/protocol/", STAFF_ONLY_PAGE),
    # The study home, its audit trail and plan (readerstudy/overview): its admins only; New study: staff only.
    Row("new-study/", "get", "/new-study/", (LOGIN, 403, 403, 200, 200), names_sources=True),
    Row("studies/<slug:slug>/", "get", f"/studies/{S}/", STAFF_ONLY_PAGE),
    Row("studies/<slug:slug>/audit/", "get", f"/studies/{S}/audit/", STAFF_ONLY_PAGE),
    Row("studies/<slug:slug>/plan/", "post", f"/studies/{S}/plan/", (LOGIN, 404, 404, 302, 404)),
    Row("api/studies/<slug:slug>/", "get", f"/api/studies/{S}/", STAFF_ONLY_API),
    Row("api/studies/<slug:slug>/readers/monitoring/", "get", f"/api/studies/{S}/readers/monitoring/",
        STAFF_ONLY_API),
    Row("studies/<slug:slug>/protocol/status/", "post", f"/studies/{S}/protocol/status/", (LOGIN, 404, 404, 302, 404)),
    Row("studies/<slug:slug>/protocol/practice-images/", "post", f"/studies/{S}/protocol/practice-images/",
        (LOGIN, 404, 404, 302, 404)),
    Row("studies/<slug:slug>/protocol/cues/", "post", f"/studies/{S}/protocol/cues/", (LOGIN, 404, 404, 302, 404)),
    Row("studies/<slug:slug>/sequences/", "get", f"/studies/{S}/sequences/", STAFF_ONLY_PAGE),
    Row("studies/<slug:slug>/readers/", "get", f"/studies/{S}/readers/", STAFF_ONLY_PAGE),
    Row("studies/<slug:slug>/readers/<str:pseudonym>/reset/", "post", f"/studies/{S}/readers/R1/reset/",
        (LOGIN, 404, 404, 302, 404)),
    # Withdrawing a link from the readers page: staff get the question first (200), everyone else 404.
    Row("studies/<slug:slug>/readers/invitations/<int:invitation_id>/withdraw/", "post",
        f"/studies/{S}/readers/invitations/{{invitation}}/withdraw/", (LOGIN, 404, 404, 200, 404)),
    Row("invite/<str:token>/", "get", "/invite/no-such-invitation/", (404, 404, 404, 404, 404)),
    Row("api/studies/<slug:slug>/protocol/", "get", f"/api/studies/{S}/protocol/", STAFF_ONLY_API),
    Row("api/studies/<slug:slug>/status/", "post", f"/api/studies/{S}/status/", STAFF_ONLY_API, {"status": "paused"}),
    Row("api/studies/<slug:slug>/audit/", "get", f"/api/studies/{S}/audit/", STAFF_ONLY_API),
    Row("api/studies/<slug:slug>/sequences/", "get", f"/api/studies/{S}/sequences/", STAFF_ONLY_API),
    Row("api/studies/<slug:slug>/sequences.csv", "get", f"/api/studies/{S}/sequences.csv", STAFF_ONLY_API),
    Row("api/studies/<slug:slug>/sequences/check/", "get", f"/api/studies/{S}/sequences/check/", STAFF_ONLY_API),
    Row("api/studies/<slug:slug>/cues/", "get", f"/api/studies/{S}/cues/", STAFF_ONLY_API),
    Row("api/studies/<slug:slug>/practice-images/", "post", f"/api/studies/{S}/practice-images/",
        (API_DENIED, 404, 404, 400, 404)),
    Row("api/studies/<slug:slug>/invitations/", "post", f"/api/studies/{S}/invitations/",
        (API_DENIED, 404, 404, 201, 404)),
    Row("api/studies/<slug:slug>/invitations/<int:invitation_id>/", "delete", f"/api/studies/{S}/invitations/999999/",
        (API_DENIED, 404, 404, 404, 404)),
    Row("api/studies/<slug:slug>/readers/<str:pseudonym>/reset/", "post", f"/api/studies/{S}/readers/R1/reset/",
        STAFF_ONLY_API),
    Row("api/studies/<slug:slug>/export.imrmc", "get", f"/api/studies/{S}/export.imrmc", STAFF_ONLY_API),
    Row("api/studies/<slug:slug>/export-long.csv", "get", f"/api/studies/{S}/export-long.csv", STAFF_ONLY_API),
    Row("api/studies/<slug:slug>/export-crossed/", "get", f"/api/studies/{S}/export-crossed/", STAFF_ONLY_API),
    # The pre-registered analysis plan (results): staff only.
    Row("api/studies/<slug:slug>/analysis-plan/", "get", f"/api/studies/{S}/analysis-plan/", STAFF_ONLY_API),
    Row("studies/<slug:slug>/results/plan/", "get", f"/studies/{S}/results/plan/", STAFF_ONLY_PAGE),
    Row("studies/<slug:slug>/results/plan/adopt/", "post", f"/studies/{S}/results/plan/adopt/",
        (LOGIN, 404, 404, 302, 404)),
    # The case gallery and the preview as a reader (readerstudy/gallery): staff only.
    Row("studies/<slug:slug>/cases/", "get", f"/studies/{S}/cases/", STAFF_ONLY_PAGE),
    Row("studies/<slug:slug>/cases/<str:public_id>/", "get", f"/studies/{S}/cases/{{case}}/", STAFF_ONLY_PAGE),
    Row("studies/<slug:slug>/cases/<str:public_id>/thumb.png", "get", f"/studies/{S}/cases/{{case}}/thumb.png",
        STAFF_ONLY_PAGE),
    Row("studies/<slug:slug>/cases/<str:public_id>/exclude/", "post",
        "/studies/draft-study/cases/{draft_case}/exclude/", (LOGIN, 404, 404, 302, 404)),
    Row("studies/<slug:slug>/cases/<str:public_id>/include/", "post",
        "/studies/draft-study/cases/{draft_case}/include/", (LOGIN, 404, 404, 302, 404)),
    Row("studies/<slug:slug>/preview/", "get", f"/studies/{S}/preview/", STAFF_ONLY_PAGE),
    Row("studies/<slug:slug>/preview/next/", "get", f"/studies/{S}/preview/next/", STAFF_ONLY_PAGE),
    Row("studies/<slug:slug>/preview/sequence/<int:position>/", "get", f"/studies/{S}/preview/sequence/1/",
        STAFF_ONLY_PAGE),
    Row("studies/<slug:slug>/preview/votes/", "post", f"/studies/{S}/preview/votes/",
        (LOGIN, 404, 404, 200, 404), "VOTE"),
]
# fmt: on

# Words that name a case's truth; none may reach a reader (the study hides the finding, so finding names count too).
TRUTH_KEYS = re.compile(r'"(source|sources|is_real|truth|finding|findings|provenance|pixel_sha256)"\s*:')
TRUTH_WORDS = re.compile(r"pix2pix|stargan|is_real|generated by", re.IGNORECASE)


@pytest.fixture
def world(study_factory, reader_factory, case_factory, staff_user):
    user_model = get_user_model()
    co_admin = user_model.objects.create_user("co-admin", is_staff=True)
    other_admin = user_model.objects.create_user("other-admin", is_staff=True)
    newcomer = user_model.objects.create_user("newcomer")
    study = study_factory(S, status="open", admins=[staff_user, co_admin])
    cases = [case_factory(study, finding="effusion", source="real"),
             case_factory(study, finding="effusion", source="pix2pix")]
    other = study_factory("other", status="open", admins=[other_admin])
    other_cases = [case_factory(other, source="real"), case_factory(other, source="stargan")]
    draft = study_factory("draft-study", admins=[staff_user])
    draft_case = case_factory(draft, source="real")
    case_factory(draft, source="stargan")
    batch = Batch.objects.create(study=study, zip_sha256="a" * 64, status=Batch.Status.DONE, audit={"images": [
        {"filename": "a.png", "finding": "Effusion", "source": "Pix2Pix", "ssim": 0.7, "psnr": 25.0}]})
    draft_batch = Batch.objects.create(study=draft, zip_sha256="b" * 64, status=Batch.Status.DONE)
    job = GenerationJob.objects.create(study=study, data_dir="/nowhere", checkpoints={}, status="done")
    other_batch = Batch.objects.create(study=other, zip_sha256="c" * 64, status=Batch.Status.DONE, audit=batch.audit)
    other_job = GenerationJob.objects.create(study=other, data_dir="/nowhere", checkpoints={}, status="done")
    users = {
        "anonymous": None,
        "reader": reader_factory(study, username="reader").user,
        "outsider": reader_factory(other, username="outsider").user,
        "staff": staff_user,
        "other_admin": other_admin,
    }
    reader_factory(other, username="other-reader")
    Membership.objects.create(study=study, user=newcomer, number=90)  # an admin grant reaches only the readers
    # Readers are given image tokens per showing: the one the reader is shown now.
    shown = client_for({"users": users}, "reader").get(f"/api/studies/{S}/next/").json()["image_url"]
    fill = {"token": shown.removeprefix("/i/").removesuffix(".png"), "batch": batch.pk,
            "draft_batch": draft_batch.pk, "job": job.pk, "case": cases[0].public_id,
            "draft_case": draft_case.public_id, "invitation": Invitation.objects.create(study=study).pk}
    other_fill = {"token": other_cases[0].image_token, "batch": other_batch.pk, "job": other_job.pk,
                  "case": other_cases[0].public_id}
    return {"study": study, "cases": cases, "users": users, "fill": fill, "other_fill": other_fill}




def body_text(response) -> str:
    if getattr(response, "streaming", False):
        content = b"".join(response.streaming_content)
    else:
        content = response.content
    if response.get("Content-Type", "").startswith("image/png"):
        return ""  # pixels; the blinding tests look at image bytes
    return content.decode("utf-8", errors="replace")


def request(client: Client, row: Row, world, path: str | None = None):
    path = path or row.path.format(**world["fill"])
    body = row.body
    if body == "VOTE":
        body = {"case": world["cases"][0].public_id, "answer": "real"}
    if row.method == "get":
        return client.get(path)
    return getattr(client, row.method)(path, json.dumps(body or {}), content_type="application/json")


def test_every_routed_url_has_an_expectation():
    routed = {pattern for pattern in routed_patterns() if not pattern.startswith(ADMIN_PREFIX)}
    covered = {row.pattern for row in ROWS}
    assert routed - covered == set(), "routes without a row in the access matrix"
    assert covered - routed == set(), "rows for routes that no longer exist"


@pytest.mark.parametrize("row", ROWS, ids=[f"{row.method} {row.path}" for row in ROWS])
def test_access_matrix(world, row):
    mismatches = []
    for actor, expected in zip(ACTORS, row.expected, strict=True):
        response = request(client_for(world, actor), row, world)
        got = access_outcome(response)
        if got != expected:
            mismatches.append(f"{actor}: expected {expected}, got {got}")
        if actor in NOT_OF_THIS_STUDY and not row.names_sources:
            text = body_text(response)
            assert not TRUTH_KEYS.search(text), (actor, row.path, TRUTH_KEYS.search(text).group(0))
            assert not TRUTH_WORDS.search(text), (actor, row.path, TRUTH_WORDS.search(text).group(0))
    assert not mismatches, f"{row.method.upper()} {row.path}: " + "; ".join(mismatches)


OWN_STUDY_ROWS = [row for row in ROWS if row.method == "get" and f"/{S}/" in row.path and row.expected[3] == 200]


@pytest.mark.parametrize("row", OWN_STUDY_ROWS, ids=[row.path for row in OWN_STUDY_ROWS])
def test_the_admin_of_another_study_administers_their_own(world, row):
    """The fifth actor's 404s above are about the study, not the account: the same pages of their own study answer."""
    path = row.path.replace(f"/{S}/", "/other/").format(**world["other_fill"])
    response = request(client_for(world, "other_admin"), row, world, path)
    assert response.status_code == 200, path


OBJECT_ROWS = [row for row in ROWS if any(part in row.path for part in ("{batch}", "{job}", "{case}", "{invitation}"))]


@pytest.mark.parametrize("row", OBJECT_ROWS, ids=[row.path for row in OBJECT_ROWS])
def test_an_object_of_this_study_through_the_other_studys_url_is_404(world, row):
    """The admin of another study names their own study in the URL and this study's batch, job, case or invitation
    link: still 404."""
    path = row.path.replace(f"/{S}/", "/other/").format(**world["fill"])
    assert request(client_for(world, "other_admin"), row, world, path).status_code == 404, path


def admin_paths() -> list[str]:
    """A concrete path for every admin route (object ids filled with 1, other parts with a plausible value)."""
    paths = []
    for pattern in sorted(routed_patterns()):
        if not pattern.startswith(ADMIN_PREFIX):
            continue
        path = re.sub(r"<(?:path:|int:)?object_id>", "1", pattern)
        path = re.sub(r"<int:content_type_id>/<path:object_id>", "1/1", path)
        path = re.sub(r"<[^>]+>", "1", path)
        path = re.sub(r"\(\?P<app_label>[^)]*\)", "studies", path)
        path = path.lstrip("^").rstrip("$").replace("\\", "")
        paths.append("/" + path)
    return paths


@pytest.mark.parametrize("actor", ["anonymous", "reader", "outsider", "staff", "other_admin"])
def test_every_admin_url_sends_non_superusers_to_the_admin_login(world, actor):
    """Django admin is the operators' (superusers') tool: study admins manage their studies through the study pages."""
    client = client_for(world, actor)
    leaks = {}
    for path in admin_paths():
        response = client.get(path)
        if path == "/admin/login/":
            expected_here = 200  # the login form itself
        elif path == "/admin/logout/":
            expected_here = 302  # nothing to show: sent elsewhere
        else:
            expected_here = LOGIN
        if access_outcome(response) != expected_here:
            leaks[path] = access_outcome(response)
    assert not leaks


def test_every_admin_url_answers_staff_without_a_server_error(world):
    get_user_model().objects.filter(pk=world["users"]["staff"].pk).update(is_superuser=True)
    client = client_for(world, "staff")
    errors = {path: code for path in admin_paths() if (code := client.get(path).status_code) >= 500}
    assert not errors
    assert client.get("/admin/").status_code == 200
