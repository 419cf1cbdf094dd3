"""Admin pages in-process: enabling users, new passwords, the last admin, keys shown once, clinicians' practices."""

from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from signpost.auth import users
from signpost.auth.models import ApiKey
from tests.web.factories import PASSWORD, csrf_from, make_user, sign_in


def _user(session: Session, username: str) -> users.User:
    found = session.exec(select(users.User).where(users.User.username == username)).one()
    session.refresh(found)
    return found


def _admin(local: TestClient, session: Session) -> tuple[str, str]:
    name = make_user(session, "admin")
    sign_in(local, name)
    return name, csrf_from(local.get("/admin/users").text)


def test_the_last_active_admin_cannot_disable_themselves(local: TestClient, session: Session) -> None:
    name, token = _admin(local, session)
    me = _user(session, name)
    answer = local.post(f"/admin/users/{me.id}/disable", data={"csrf_token": token})
    assert answer.status_code == 409
    assert "last active admin" in answer.text
    assert _user(session, name).disabled_at is None
    # Still signed in: the page still opens.
    assert local.get("/admin/users").status_code == 200


def test_an_admin_can_be_disabled_while_another_admin_is_active(local: TestClient, session: Session) -> None:
    name, token = _admin(local, session)
    other = _user(session, make_user(session, "admin"))
    answer = local.post(f"/admin/users/{other.id}/disable", data={"csrf_token": token}, follow_redirects=False)
    assert answer.status_code == 303
    assert _user(session, other.username).disabled_at is not None
    # Now the signed-in admin is the last one.
    me = _user(session, name)
    assert local.post(f"/admin/users/{me.id}/disable", data={"csrf_token": token}).status_code == 409


def test_a_disabled_user_is_enabled_and_can_sign_in_again(local: TestClient, app, session: Session) -> None:  # type: ignore[no-untyped-def]
    _, token = _admin(local, session)
    person = _user(session, make_user(session, "prescriber"))
    assert local.post(f"/admin/users/{person.id}/disable", data={"csrf_token": token}).status_code == 200
    assert "Enable" in local.get("/admin/users").text
    page = local.post(f"/admin/users/{person.id}/enable", data={"csrf_token": token})
    assert page.status_code == 200 and f"{person.username} can sign in again." in page.text
    assert _user(session, person.username).disabled_at is None
    with TestClient(app, base_url="http://localhost") as theirs:
        sign_in(theirs, person.username)


def test_an_admin_resets_a_password_and_the_old_one_stops_working(local: TestClient, app, session: Session) -> None:  # type: ignore[no-untyped-def]
    _, token = _admin(local, session)
    person = _user(session, make_user(session, "editor"))
    with TestClient(app, base_url="http://localhost", raise_server_exceptions=False) as theirs:
        sign_in(theirs, person.username)
        assert theirs.get("/editor", follow_redirects=False).status_code == 200
        new = "a completely new passphrase"
        page = local.post(f"/admin/users/{person.id}/password", data={"csrf_token": token, "password": new})
        assert page.status_code == 200 and "has a new password" in page.text
        # Their old session ended; the old password no longer signs in; the new one does.
        assert theirs.get("/editor", follow_redirects=False).status_code == 303
        sign_in_page = theirs.get("/sign-in").text
        refused = theirs.post(
            "/sign-in",
            data={"csrf_token": csrf_from(sign_in_page), "username": person.username, "password": PASSWORD},
            follow_redirects=False,
        )
        assert refused.status_code != 303
        sign_in(theirs, person.username, new)


def test_a_short_reset_password_is_refused_beside_the_field(local: TestClient, session: Session) -> None:
    _, token = _admin(local, session)
    person = _user(session, make_user(session, "editor"))
    before = person.password_hash
    page = local.post(f"/admin/users/{person.id}/password", data={"csrf_token": token, "password": "short"})
    assert page.status_code == 422
    assert f'id="password-{person.id}-error"' in page.text and "at least 12 characters" in page.text
    assert _user(session, person.username).password_hash == before


def test_a_clinician_user_needs_a_practice(local: TestClient, session: Session) -> None:
    _, token = _admin(local, session)
    form = {"csrf_token": token, "username": "dr.nopractice", "password": PASSWORD, "role": "clinician"}
    page = local.post("/admin/users", data={**form, "practice_ods": ""})
    assert page.status_code == 422
    assert 'id="practice_ods-error"' in page.text and "ODS code" in page.text
    assert session.exec(select(users.User).where(users.User.username == "dr.nopractice")).first() is None
    bad = local.post("/admin/users", data={**form, "practice_ods": "1234567890"})
    assert bad.status_code == 422 and "a letter and five digits" in bad.text
    made = local.post("/admin/users", data={**form, "practice_ods": "b86001"})
    assert made.status_code == 200
    assert _user(session, "dr.nopractice").practice_ods == "B86001"


def _keys(session: Session) -> int:
    return int(session.exec(select(func.count()).select_from(ApiKey)).one())


def test_creating_a_key_shows_it_once_and_a_reload_creates_nothing(local: TestClient, session: Session) -> None:
    name = make_user(session, "admin")
    sign_in(local, name)
    token = csrf_from(local.get("/admin/keys").text)
    before = _keys(session)
    answer = local.post(
        "/admin/keys", data={"csrf_token": token, "name": "Reception PC", "role": "prescriber"}, follow_redirects=False
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/admin/keys"
    shown = local.get("/admin/keys")
    assert 'id="new-key"' in shown.text and "Reception PC" in shown.text
    assert shown.headers["cache-control"] == "no-store"
    secret = shown.text.split('id="new-key">')[1].split("<")[0]
    assert secret.startswith("sp_")
    # Reloading the page after the redirect: no second key, and the secret is not shown again.
    again = local.get("/admin/keys")
    assert 'id="new-key"' not in again.text and secret not in again.text
    assert _keys(session) == before + 1
    stored = session.exec(select(ApiKey).where(ApiKey.name == "Reception PC")).one()
    assert secret not in (stored.key_hash, stored.prefix)
