"""Who may see what: anonymous, a reader of the study, a reader of another study, a study admin and the admin of
another study, against every page and endpoint of the reader core. Non-members get 404, never a hint that the study
exists; so does the admin of another study."""
import pytest
from django.test import Client

from tests.factories import LOGIN, access_outcome, client_for

ACTORS = ("anonymous", "reader", "outsider", "staff", "other_admin")


@pytest.fixture
def world(study_factory, reader_factory, case_factory, staff_user):
    from django.contrib.auth import get_user_model

    other_admin = get_user_model().objects.create_user("other-admin", is_staff=True)
    study = study_factory("paper", status="open", admins=[staff_user])
    cases = [case_factory(study, source="real"), case_factory(study, source="pix2pix")]
    other = study_factory("other", status="open", admins=[other_admin])
    case_factory(other, source="real")
    draft = study_factory("draft-study", admins=[staff_user])
    case_factory(draft, source="real")
    users = {
        "anonymous": None,
        "reader": reader_factory(study, username="reader").user,
        "outsider": reader_factory(other, username="outsider").user,
        "staff": staff_user,
        "other_admin": other_admin,
    }
    return {"study": study, "cases": cases, "users": users}




DENIED_API = (401, 403)

# (method, path, body, expected for anonymous, reader, outsider, staff, other_admin)
MATRIX = [
    ("get", "/", None, (LOGIN, 200, 200, 200, 200)),
    ("get", "/resume/", None, (LOGIN, 302, 302, 302, 302)),
    ("get", "/studies/paper/read/", None, (LOGIN, 200, 404, 404, 404)),
    ("get", "/studies/paper/finished/", None, (LOGIN, 302, 404, 404, 404)),
    ("get", "/studies/no-such-study/read/", None, (LOGIN, 404, 404, 404, 404)),
    ("get", "/accounts/password/", None, (LOGIN, 200, 200, 200, 200)),
    ("get", "/admin/", None, (LOGIN, LOGIN, LOGIN, LOGIN, LOGIN)),
    ("get", "/api/studies/", None, (DENIED_API, 200, 200, 200, 200)),
    ("post", "/api/studies/", {"slug": "new", "name": "New"}, (DENIED_API, 403, 403, 201, 201)),
    ("get", "/api/studies/paper/next/", None, (DENIED_API, 200, 404, 404, 404)),
    ("get", "/api/studies/paper/progress/", None, (DENIED_API, 200, 404, 404, 404)),
    # Going back: this study does not allow it (and nothing is answered yet).
    ("get", "/api/studies/paper/sequence/1/", None, (DENIED_API, 403, 404, 404, 404)),
    ("post", "/api/studies/paper/votes/", "VOTE", (DENIED_API, 201, 404, 404, 404)),
    ("post", "/api/studies/paper/readers/", {"username": "newbie"}, (DENIED_API, 404, 404, 201, 404)),
    ("post", "/api/studies/paper/open/", None, (DENIED_API, 404, 404, 200, 404)),
    ("get", "/api/studies/draft-study/next/", None, (DENIED_API, 404, 404, 404, 404)),
    ("get", "/api/schema/", None, (200, 200, 200, 200, 200)),  # the schema is public: it describes, holds no data
]


@pytest.mark.parametrize("actor_index", range(5), ids=ACTORS)
@pytest.mark.parametrize(("method", "path", "body", "expected"), MATRIX, ids=[f"{m} {p}" for m, p, _, _ in MATRIX])
def test_role_matrix(world, actor_index, method, path, body, expected):
    client = client_for(world, ACTORS[actor_index])
    if body == "VOTE":
        body = {"case": world["cases"][0].public_id, "answer": "real"}
    if method == "get":
        response = client.get(path)
    else:
        response = client.post(path, body or {}, content_type="application/json")
    wanted = expected[actor_index]
    got = access_outcome(response)
    assert got in wanted if isinstance(wanted, tuple) else got == wanted, (ACTORS[actor_index], path, got)


def shown_image_url(world) -> str:
    """The URL of the image the reader is shown now (tokens are issued per showing)."""
    return client_for(world, "reader").get("/api/studies/paper/next/").json()["image_url"]


@pytest.mark.parametrize(("actor", "expected"), [("anonymous", 404), ("reader", 200), ("outsider", 404),
                                                 ("staff", 200), ("other_admin", 404)])
def test_the_image_of_a_showing_is_served_to_its_reader_and_the_studys_admins_only(world, actor, expected):
    assert client_for(world, actor).get(shown_image_url(world)).status_code == expected


@pytest.mark.parametrize(("actor", "expected"), [("anonymous", 404), ("reader", 404), ("outsider", 404),
                                                 ("staff", 200), ("other_admin", 404)])
def test_a_cases_own_image_token_is_for_the_studys_admins_only(world, actor, expected):
    token = world["cases"][0].image_token
    assert client_for(world, actor).get(f"/i/{token}.png").status_code == expected


@pytest.mark.parametrize("path", ["/i/AAAAAAAAAAAAAAAAAAAAAA.png", "/i/short.png", "/i/../etc/passwd.png"])
def test_a_wrong_image_token_is_404(world, path):
    assert client_for(world, "reader").get(path).status_code == 404


def test_an_image_is_served_to_a_members_api_token(world):
    from rest_framework.authtoken.models import Token

    token = Token.objects.create(user=world["users"]["reader"])
    url = shown_image_url(world)
    assert Client().get(url, HTTP_AUTHORIZATION=f"Token {token.key}").status_code == 200
    assert Client().get(url, HTTP_AUTHORIZATION="Token not-a-real-token").status_code == 404


def test_a_reader_lists_only_their_own_studies(world):
    slugs = [s["slug"] for s in client_for(world, "reader").get("/api/studies/").json()]
    assert slugs == ["paper"]


def test_home_page_lists_each_user_only_their_own_studies(world):
    reader_page = client_for(world, "reader").get("/").content.decode()
    staff_page = client_for(world, "staff").get("/").content.decode()
    other_admin_page = client_for(world, "other_admin").get("/").content.decode()
    assert "Paper" in reader_page and "Other" not in reader_page
    assert all(name in staff_page for name in ("Paper", "Draft-Study")) and "Other" not in staff_page
    assert "/studies/other/results/" in other_admin_page and "Paper" not in other_admin_page
    assert "/studies/paper/results/" in staff_page and "/studies/paper/results/" not in reader_page
