"""The template works unchanged in LHC-Forms, the SDC renderer clinical and web front ends embed.

The Questionnaire is read from the running service, rendered by LHC-Forms' own built files (served to the browser
from node_modules, nothing fetched from the internet), answered by clicking, and the QuestionnaireResponse that
LHC-Forms produces goes back to the service through `$validate` and `$signpost`.
"""

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.web.conftest import ARTIFACTS, ROOT, LiveServer

LFORMS = ROOT / "node_modules" / "lforms-dist"
ORIGIN = "http://lforms.test"
PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>LHC-Forms</title>
<link rel="stylesheet" href="/webcomponent/styles.css"></head>
<body><div id="form"></div>
<script src="/webcomponent/assets/lib/zone.min.js"></script>
<script src="/webcomponent/runtime.js"></script>
<script src="/webcomponent/polyfills.js"></script>
<script src="/webcomponent/main.js"></script>
<script src="/fhir/R4/lformsFHIR.min.js"></script>
</body></html>"""
MEDIA = {".js": "application/javascript", ".css": "text/css", ".png": "image/png"}

pytestmark = pytest.mark.skipif(
    not (LFORMS / "webcomponent" / "main.js").is_file(), reason="LHC-Forms is not installed (make test installs it)"
)


@pytest.fixture
def lforms_page(browser, live_server: LiveServer) -> Iterator[tuple[Any, list[str]]]:  # type: ignore[no-untyped-def]
    """A page holding LHC-Forms and the service's Questionnaire; also the addresses it tried to reach elsewhere."""
    questionnaire = httpx.get(f"{live_server.base_url}/fhir/Questionnaire/social-determinants").json()
    elsewhere: list[str] = []
    context = browser.new_context()
    page = context.new_page()

    def serve(route: Any) -> None:
        path = route.request.url.removeprefix(ORIGIN)
        if path == "/":
            route.fulfill(body=PAGE, content_type="text/html")
            return
        found = (LFORMS / path.lstrip("/")).resolve()
        if found.is_file() and found.is_relative_to(LFORMS.resolve()):
            route.fulfill(body=found.read_bytes(), content_type=MEDIA.get(found.suffix, "application/octet-stream"))
        else:
            route.fulfill(status=404, body="")

    def refuse(route: Any) -> None:
        elsewhere.append(route.request.url)
        route.abort()

    page.route(f"{ORIGIN}/**", serve)
    page.route(lambda url: not url.startswith(ORIGIN), refuse)
    page.goto(ORIGIN + "/")
    page.wait_for_function("() => Boolean(window.LForms && LForms.Util && LForms.Util.addFormToPage)")
    page.evaluate("questionnaire => LForms.Util.addFormToPage(questionnaire, 'form')", questionnaire)
    page.wait_for_selector("lhc-item")
    try:
        yield page, elsewhere
    finally:
        context.close()


def _item(page: Any, link_id: str) -> Any:
    """The innermost rendered item whose question is `link_id`."""
    label = f".//label[@id='label-{link_id}/1']"
    return page.locator(f"xpath=//lhc-item[{label}][not(.//lhc-item[{label}])]")


def _choose(page: Any, link_id: str, answer: str) -> None:
    """Click an answer as a person would (LHC-Forms updates its radio buttons after the click, not during it)."""
    from playwright.sync_api import expect

    choice = _item(page, link_id).get_by_label(answer, exact=True)
    if not choice.is_checked():
        _item(page, link_id).get_by_text(answer, exact=True).click()
    expect(choice).to_be_checked()


def _response(page: Any) -> dict[str, Any]:
    return page.evaluate("() => LForms.Util.getFormFHIRData('QuestionnaireResponse', 'R4', '#form')")  # type: ignore[no-any-return]


def test_lhc_forms_renders_the_template_and_follows_its_enable_when(lforms_page) -> None:  # type: ignore[no-untyped-def]
    page, elsewhere = lforms_page
    questions = page.locator("lhc-item label[id^='label-']")
    shown = {label.get_attribute("id").removeprefix("label-").removesuffix("/1") for label in questions.all()}
    assert {"housing", "money", "food-worried", "food-ran-out", "work", "consent"} <= shown
    assert not {"homeless-tonight", "benefits-check", "food-today", "domestic-abuse", "language"} & shown

    _choose(page, "housing", "Homeless")
    assert _item(page, "homeless-tonight").is_visible()
    _item(page, "housing").get_by_text("Homeless", exact=True).click()  # unticked: the follow-up goes
    assert _item(page, "homeless-tonight").count() == 0

    _choose(page, "safe-to-ask", "Yes")
    assert _item(page, "domestic-abuse").is_visible()
    assert elsewhere == []


def test_a_response_made_in_lhc_forms_is_valid_and_signposted(lforms_page, live_server: LiveServer) -> None:  # type: ignore[no-untyped-def]
    page, elsewhere = lforms_page
    _choose(page, "housing", "Homeless")
    _choose(page, "homeless-tonight", "Yes")
    _choose(page, "money", "Trouble paying for essentials")
    _choose(page, "benefits-check", "Yes")
    _choose(page, "food-worried", "Never true")
    _choose(page, "food-ran-out", "Never true")
    _choose(page, "work", "No")
    _choose(page, "household", "None of these")
    _choose(page, "isolation", "No")
    _choose(page, "legal-immigration", "No")
    _choose(page, "safe-to-ask", "No")
    _choose(page, "access", "None of these")
    _choose(page, "consent", "Yes")
    Path(ARTIFACTS).mkdir(exist_ok=True)
    page.wait_for_timeout(300)  # the radio buttons' animation, for the picture only
    page.screenshot(path=str(ARTIFACTS / "lhc-forms-template.png"), full_page=True)
    response = {**_response(page), "status": "completed", "authored": "2026-11-28T10:00:00Z"}

    fhir = {"content-type": "application/fhir+json", "authorization": f"Bearer {live_server.keys['clinician']}"}
    checked = httpx.post(
        f"{live_server.base_url}/fhir/QuestionnaireResponse/$validate", content=json.dumps(response), headers=fhir
    )
    assert checked.status_code == 200, checked.text
    problems = [i for i in checked.json()["issue"] if i["severity"] in ("error", "fatal")]
    assert problems == [], problems

    signposted = httpx.post(
        f"{live_server.base_url}/fhir/QuestionnaireResponse/$signpost", content=json.dumps(response), headers=fhir
    )
    assert signposted.status_code == 200, signposted.text
    kinds = {entry["resource"]["resourceType"] for entry in signposted.json()["entry"]}
    assert {"HealthcareService", "ServiceRequest", "Observation"} <= kinds
    assert elsewhere == []
