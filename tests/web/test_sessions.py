"""Sign-in, session cookies and CSRF, through the app in-process (the browser tests cover the pages)."""

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from signpost.auth import service as keys
from signpost.auth import users
from tests.factories import make_key
from tests.web.factories import PASSWORD, csrf_from, make_user, sign_in


@pytest.fixture
def local(app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    """A client on localhost, where cookies are not marked Secure (plain-HTTP development)."""
    with TestClient(app, base_url="http://localhost", raise_server_exceptions=False) as client:
        yield client


def test_anonymous_page_request_redirects_to_sign_in(local: TestClient) -> None:
    answer = local.get("/admin/keys", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/sign-in?next=/admin/keys"


def test_session_cookie_is_httponly_lax_and_not_secure_on_localhost(local: TestClient, session: Session) -> None:
    name = make_user(session, "analyst")
    token = csrf_from(local.get("/sign-in").text)
    answer = local.post(
        "/sign-in", data={"csrf_token": token, "username": name, "password": PASSWORD}, follow_redirects=False
    )
    set_cookie = next(h for h in answer.headers.get_list("set-cookie") if h.startswith("signpost_session=")).lower()
    assert "httponly" in set_cookie and "samesite=lax" in set_cookie and "secure" not in set_cookie


def test_cookie_is_secure_outside_localhost(app, session: Session) -> None:  # type: ignore[no-untyped-def]
    name = make_user(session, "analyst")
    with TestClient(app, base_url="https://signpost.example.org") as client:
        token = csrf_from(client.get("/sign-in").text)
        answer = client.post(
            "/sign-in",
            data={"csrf_token": token, "username": name, "password": PASSWORD},
            follow_redirects=False,
        )
    set_cookie = next(h for h in answer.headers.get_list("set-cookie") if h.startswith("signpost_session="))
    assert "secure" in set_cookie.lower() and "httponly" in set_cookie.lower() and "samesite=lax" in set_cookie.lower()


def test_form_without_csrf_token_is_refused(local: TestClient, session: Session) -> None:
    sign_in(local, make_user(session, "admin"))
    answer = local.post("/admin/users", data={"username": "someone", "password": PASSWORD, "role": "analyst"})
    assert answer.status_code == 403
    assert "did not come from this site" in answer.text
    assert all(u.username != "someone" for u in users.list_users(session=session))


def test_csrf_token_from_another_browser_is_refused(app, local: TestClient, session: Session) -> None:  # type: ignore[no-untyped-def]
    sign_in(local, make_user(session, "admin"))
    with TestClient(app, base_url="http://localhost") as other:
        sign_in(other, make_user(session, "admin"))
        foreign = csrf_from(other.get("/admin/users").text)
    answer = local.post(
        "/admin/users", data={"csrf_token": foreign, "username": "someone", "password": PASSWORD, "role": "analyst"}
    )
    assert answer.status_code == 403


def test_sign_in_does_not_redirect_off_site(local: TestClient, session: Session) -> None:
    name = make_user(session, "analyst")
    token = csrf_from(local.get("/sign-in").text)
    answer = local.post(
        "/sign-in",
        data={"csrf_token": token, "username": name, "password": PASSWORD, "next": "//evil.example/"},
        follow_redirects=False,
    )
    assert answer.headers["location"] == "/"


def test_sign_out_ends_the_session_on_the_server(local: TestClient, session: Session) -> None:
    sign_in(local, make_user(session, "analyst"))
    stolen = local.cookies.get("signpost_session")
    token = csrf_from(local.get("/").text)
    assert local.post("/sign-out", data={"csrf_token": token}, follow_redirects=False).status_code == 303
    assert users.viewer_for(session=session, token=stolen or "") is None


def test_disabling_a_user_ends_their_sessions(local: TestClient, session: Session) -> None:
    name = make_user(session, "analyst")
    sign_in(local, name)
    user = next(u for u in users.list_users(session=session) if u.username == name)
    users.disable_user(session=session, user_id=user.id or 0)
    assert local.get("/analytics", follow_redirects=False).status_code == 303


def test_revoking_a_key_ends_sessions_started_with_it(local: TestClient, session: Session) -> None:
    secret = make_key(session, "analyst")
    token = csrf_from(local.get("/sign-in").text)
    local.post("/sign-in", data={"csrf_token": token, "key": secret}, follow_redirects=False)
    assert local.get("/", follow_redirects=False).status_code == 200
    record = next(k for k in keys.list_keys(session=session) if secret.startswith(k.prefix))
    keys.revoke_key(session=session, key_id=record.id or 0)
    session.flush()
    assert local.get("/", follow_redirects=False).status_code == 303


def test_wrong_password_and_unknown_user_get_the_same_answer(local: TestClient, session: Session) -> None:
    name = make_user(session, "analyst")
    token = csrf_from(local.get("/sign-in").text)
    wrong = local.post("/sign-in", data={"csrf_token": token, "username": name, "password": "nope" * 4})
    unknown = local.post("/sign-in", data={"csrf_token": token, "username": "nobody-here", "password": "nope" * 4})
    assert wrong.status_code == unknown.status_code == 401
    assert (
        "The username or password is not right." in wrong.text
        and "The username or password is not right." in unknown.text
    )


def test_password_is_stored_only_as_an_argon2_hash(session: Session) -> None:
    name = make_user(session, "editor")
    user = next(u for u in users.list_users(session=session) if u.username == name)
    assert user.password_hash.startswith("$argon2") and PASSWORD not in user.password_hash


def test_static_files_cannot_escape_their_folder(local: TestClient) -> None:
    assert local.get("/static/..%2f..%2fconfig.py").status_code == 404
    assert local.get("/static/signpost.css").status_code == 200


def test_static_files_are_cached_and_revalidated(local: TestClient) -> None:
    first = local.get("/static/signpost.js")
    assert first.status_code == 200 and first.headers["cache-control"] == "public, max-age=3600"
    assert "javascript" in first.headers["content-type"]
    again = local.get("/static/signpost.js", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    assert local.get("/static/no-such-file.css").status_code == 404


def test_the_design_system_stylesheet_fetches_no_third_party_font(local: TestClient) -> None:
    css = local.get("/assets/nhsuk/nhsuk-frontend.min.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert "assets.nhs.uk" not in css.text and ".nhsuk-" in css.text
    assert local.get("/assets/nhsuk/assets/images/favicon.ico").status_code == 200


def test_pages_keep_to_the_content_security_policy(local: TestClient, session: Session) -> None:
    sign_in(local, make_user(session, "admin"))
    html = local.get("/admin/keys").text
    assert "<script>" not in html and " style=" not in html and "onclick" not in html


def test_a_bad_key_is_reported_beside_the_key_field(local: TestClient) -> None:
    token = csrf_from(local.get("/sign-in").text)
    answer = local.post("/sign-in", data={"csrf_token": token, "key": "sp_not-a-key"})
    assert answer.status_code == 401
    assert 'id="key-error"' in answer.text
