"""SMART EHR launch: PKCE and state, the patient in context, the template, and write-back where scopes allow."""

from sqlmodel import func, select

from signpost.events.models import SignpostEvent
from signpost.smart import sessions
from signpost.smart.launch import challenge, may_write
from tests.reliability import canary
from tests.reliability.test_privacy_canary import _dump
from tests.smart.conftest import SIGNPOST, authorise, launch_id, query
from tests.web.factories import csrf_from
from tests.web.test_pages import NO_NEEDS

# Homeless (not tonight) and worried about food: two needs.
ANSWERS = {
    **NO_NEEDS,
    "q-housing": "homeless",
    "q-homeless-tonight": "false",
    "q-food-worried": "often-true",
    "q-food-today": "false",
}


def _submit(signpost, page: str):  # type: ignore[no-untyped-def]
    form = {**ANSWERS, "csrf_token": csrf_from(page), "action": "submit", "postcode": "ZZ1 1ZZ"}
    return signpost.post("/smart/template", data=form)


def test_the_launch_asks_for_authorisation_with_pkce_s256_and_state(signpost, ehr) -> None:  # type: ignore[no-untyped-def]
    started = signpost.get("/smart/launch", params={"iss": ehr.fhir_base, "launch": launch_id(ehr)})
    assert started.status_code == 302
    assert started.headers["location"].startswith(ehr.base_url + "/auth/authorize?")
    asked = query(started.headers["location"])
    assert asked["code_challenge_method"] == "S256" and len(asked["code_challenge"]) == 43
    assert asked["aud"] == ehr.fhir_base and asked["client_id"] == "signpost-demo" and len(asked["state"]) >= 32
    assert asked["redirect_uri"] == SIGNPOST + "/smart/callback"
    (launch,) = sessions._launches.values()
    assert challenge(launch.verifier) == asked["code_challenge"]
    assert "launch" in asked["scope"].split()


def test_the_launched_template_is_written_back_and_nothing_identifying_is_kept(  # type: ignore[no-untyped-def]
    signpost, ehr_browser, ehr, directory, session, caplog
) -> None:
    back = authorise(signpost, ehr_browser, ehr)
    assert back.status_code == 303 and back.headers["location"] == "/smart/template"
    page = signpost.get("/smart/template")
    assert page.status_code == 200
    assert 'action="/smart/template"' in page.text
    assert "Postcode: taken from the record" in page.text
    assert not canary.traces_in(page.text)  # the record's details are not put in the page
    result = _submit(signpost, page.text)
    assert result.status_code == 200, result.text
    assert "Leeds Housing Options" in result.text and "Leeds Food Aid" in result.text
    kinds = [w["resourceType"] for w in ehr.writes]
    assert kinds == ["QuestionnaireResponse", "Observation", "Observation", "ServiceRequest", "ServiceRequest"] or (
        kinds[0] == "QuestionnaireResponse" and set(kinds) == {"QuestionnaireResponse", "Observation", "ServiceRequest"}
    )
    assert all(w["subject"] == {"reference": "Patient/zq-1957"} for w in ehr.writes)
    response_id = ehr.writes[0]["id"]
    observations = [w for w in ehr.writes if w["resourceType"] == "Observation"]
    assert all(o["derivedFrom"] == [{"reference": f"QuestionnaireResponse/{response_id}"}] for o in observations)
    requests = [w for w in ehr.writes if w["resourceType"] == "ServiceRequest"]
    assert all(
        r["status"] == "draft" and r["performer"][0]["reference"].startswith(SIGNPOST + "/fhir/") for r in requests
    )
    assert "1 × the template answers saved to the record" in result.text
    # Counted once, anonymously; the launch is over and gone.
    assert session.exec(select(func.count()).select_from(SignpostEvent)).one() == 2
    assert sessions.held() == 0
    assert signpost.get("/smart/template").status_code == 400
    found = {table: traces for table, rows in _dump(session).items() if (traces := canary.traces_in(rows))}
    assert not found
    logged = "\n".join(r.getMessage() + repr(r.args) + repr(getattr(r, "__dict__", {})) for r in caplog.records)
    assert not canary.traces_in(logged)
    tokens = list(ehr.tokens)  # the access token Signpost was given: in no log line, no page, no URL
    assert tokens and not any(t in logged or t in result.text for t in tokens)
    assert "zq-1957" not in logged


def test_scopes_that_do_not_allow_writing_are_reported_not_written(signpost, ehr_browser, ehr, directory) -> None:  # type: ignore[no-untyped-def]
    ehr.grant_scopes = "launch patient/Patient.read patient/QuestionnaireResponse.write"
    authorise(signpost, ehr_browser, ehr)
    result = _submit(signpost, signpost.get("/smart/template").text)
    assert [w["resourceType"] for w in ehr.writes] == ["QuestionnaireResponse"]
    assert 'data-not-permitted="Observation"' in result.text and 'data-not-permitted="ServiceRequest"' in result.text


def test_a_write_the_ehr_refuses_is_reported(signpost, ehr_browser, ehr, directory) -> None:  # type: ignore[no-untyped-def]
    authorise(signpost, ehr_browser, ehr)
    page = signpost.get("/smart/template").text
    ehr.refuse_writes = {"ServiceRequest"}
    result = _submit(signpost, page)
    assert result.status_code == 200
    assert 'data-failed="ServiceRequest"' in result.text


def test_a_state_mismatch_is_a_clear_page_and_ends_the_launch(signpost, ehr) -> None:  # type: ignore[no-untyped-def]
    signpost.get("/smart/launch", params={"iss": ehr.fhir_base, "launch": launch_id(ehr)})
    answer = signpost.get("/smart/callback", params={"code": "x", "state": "not-the-state"})
    assert answer.status_code == 400
    assert "does not match a launch started in this browser" in answer.text
    assert sessions.held() == 0 and ehr.tokens == {}


def test_a_callback_without_a_launch_cookie_is_refused(signpost, ehr_browser, ehr) -> None:  # type: ignore[no-untyped-def]
    started = signpost.get("/smart/launch", params={"iss": ehr.fhir_base, "launch": launch_id(ehr)})
    asked = query(started.headers["location"])
    signpost.cookies.clear()
    answer = signpost.get("/smart/callback", params={"code": "x", "state": asked["state"]})
    assert answer.status_code == 400


def test_a_pkce_mismatch_is_a_clear_page_and_nothing_is_kept(signpost, ehr_browser, ehr) -> None:  # type: ignore[no-untyped-def]
    started = signpost.get("/smart/launch", params={"iss": ehr.fhir_base, "launch": launch_id(ehr)})
    asked = query(started.headers["location"])
    (launch,) = sessions._launches.values()
    launch.verifier = "a-verifier-other-than-the-one-challenged" * 2
    decided = ehr_browser.post("/auth/decide", data={**asked, "decision": "allow"}, follow_redirects=False)
    answer = signpost.get(decided.headers["location"].removeprefix(SIGNPOST))
    assert answer.status_code == 400
    assert "refused" in answer.text
    assert sessions.held() == 0 and ehr.tokens == {}


def test_denied_consent_is_a_clear_page(signpost, ehr_browser, ehr) -> None:  # type: ignore[no-untyped-def]
    answer = authorise(signpost, ehr_browser, ehr, decision="deny")
    assert answer.status_code == 403
    assert "Signpost was not given access" in answer.text
    assert sessions.held() == 0


def test_an_unknown_issuer_is_a_clear_page_and_nothing_is_fetched(signpost, ehr_calls) -> None:  # type: ignore[no-untyped-def]
    answer = signpost.get("/smart/launch", params={"iss": "https://unknown-ehr.example.test/fhir", "launch": "x"})
    assert answer.status_code == 400
    assert "not registered" in answer.text
    assert sessions.held() == 0 and not ehr_calls.calls


def test_a_launch_without_its_parameters_says_where_to_start(signpost) -> None:  # type: ignore[no-untyped-def]
    answer = signpost.get("/smart/launch")
    assert answer.status_code == 400 and "Open Signpost from the patient" in answer.text


def test_the_form_refuses_a_token_from_another_launch(signpost, ehr_browser, ehr, directory) -> None:  # type: ignore[no-untyped-def]
    authorise(signpost, ehr_browser, ehr)
    answer = signpost.post("/smart/template", data={**ANSWERS, "csrf_token": "forged", "action": "submit"})
    assert answer.status_code == 403 and ehr.writes == []


def test_scopes_are_read_in_smart_v1_and_v2_forms() -> None:
    assert may_write({"patient/Observation.write"}, "Observation")
    assert may_write({"patient/*.*"}, "ServiceRequest")
    assert may_write({"patient/Observation.cu"}, "Observation")
    assert may_write({"user/ServiceRequest.c"}, "ServiceRequest")
    assert not may_write({"patient/Observation.read", "patient/Observation.rs"}, "Observation")
    assert not may_write({"patient/Observation.write"}, "ServiceRequest")
    assert not may_write({"system/Observation.write", "launch"}, "Observation")
