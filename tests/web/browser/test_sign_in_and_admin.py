"""Signing in and the admin pages, in a real browser."""

from tests.web.conftest import PASSWORD, Browsing, LiveServer


def test_anonymous_visitor_is_sent_to_sign_in(browsing: Browsing) -> None:
    browsing.go("/admin/users")
    assert browsing.page.url.endswith("/sign-in?next=/admin/users")
    assert browsing.page.locator("h1").inner_text() == "Sign in"
    browsing.check("sign-in")


def test_wrong_password_shows_error_summary_and_message(browsing: Browsing) -> None:
    browsing.go("/sign-in")
    browsing.page.fill("#username", "admin1")
    browsing.page.fill("#password", "not the password")
    browsing.page.click("button:has-text('Sign in')")
    assert "There is a problem" in browsing.page.locator(".nhsuk-error-summary").inner_text()
    assert "not right" in browsing.page.locator("#username-error").inner_text()
    browsing.check("sign-in-error")


def test_sign_in_with_api_key_returns_to_the_page_asked_for(browsing: Browsing, live_server: LiveServer) -> None:
    browsing.go("/admin/keys")
    browsing.page.fill("#key", live_server.keys["admin"])
    browsing.page.click("button:has-text('Sign in')")
    assert browsing.page.url.endswith("/admin/keys")
    assert browsing.page.locator("h1").inner_text() == "API keys"


def test_session_cookie_is_httponly_lax_and_holds_no_key(browsing: Browsing, live_server: LiveServer) -> None:
    browsing.go("/sign-in")
    browsing.page.fill("#key", live_server.keys["admin"])
    browsing.page.click("button:has-text('Sign in')")
    cookie = next(c for c in browsing.page.context.cookies() if c["name"] == "signpost_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    assert live_server.keys["admin"] not in cookie["value"]


def test_home_shows_only_what_the_role_may_do(browsing: Browsing) -> None:
    browsing.sign_in("analyst")
    links = browsing.page.locator("nav[aria-label=Menu] a").all_inner_texts()
    assert links == ["Analytics", "Referral outcomes"]
    browsing.check("home-analyst")


def test_other_roles_are_refused_admin_pages(browsing: Browsing) -> None:
    browsing.sign_in("prescriber")
    response = browsing.go("/admin/keys")
    assert response.status == 403
    assert "cannot use this page" in browsing.page.locator("main").inner_text()
    browsing.check("forbidden")


def test_admin_creates_a_user_who_can_then_sign_in(browsing: Browsing) -> None:
    browsing.sign_in("admin")
    browsing.go("/admin/users")
    browsing.page.fill("#username", "newprescriber")
    browsing.page.fill("#password", PASSWORD)
    browsing.page.select_option("#role", "prescriber")
    browsing.page.click("button:has-text('Add user')")
    assert "newprescriber can now sign in" in browsing.page.locator(".sp-notice").inner_text()
    browsing.check("admin-users")
    browsing.page.click("button:has-text('Sign out')")
    browsing.page.fill("#username", "newprescriber")
    browsing.page.fill("#password", PASSWORD)
    browsing.page.click("button:has-text('Sign in')")
    assert "Signed in as newprescriber (prescriber)" in browsing.page.locator("header").inner_text()


def test_admin_user_form_shows_errors_beside_fields(browsing: Browsing) -> None:
    browsing.sign_in("admin")
    browsing.go("/admin/users")
    browsing.page.fill("#username", "x")
    browsing.page.fill("#password", "short")
    browsing.page.click("button:has-text('Add user')")
    assert browsing.page.locator("#username-error").is_visible()
    assert "at least 12 characters" in browsing.page.locator("#password-error").inner_text()
    browsing.check("admin-users-error")


def test_admin_creates_a_key_shown_once_and_revokes_it(browsing: Browsing) -> None:
    browsing.sign_in("admin")
    browsing.go("/admin/keys")
    browsing.page.fill("#name", "Practice system")
    browsing.page.select_option("#role", "clinician")
    browsing.page.fill("#practice_ods", "B86002")
    browsing.page.click("button:has-text('Create key')")
    secret = browsing.page.locator("#new-key").inner_text()
    assert secret.startswith("sp_")
    browsing.check("admin-keys")
    browsing.page.click("button:has-text('Revoke Practice system')")
    assert secret not in browsing.page.content()
    row = browsing.page.locator("tr", has_text="Practice system")
    assert "Revoked" in row.inner_text()
