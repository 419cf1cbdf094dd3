"""Malformed hook calls get 400 with what is wrong; unknown services 404; never a 500."""

import json

import pytest

from tests.cds_hooks.conftest import SIGNPOST

SERVICE = "signpost-patient-view"


def _send(hooks, ehr, content: bytes, service: str = SERVICE):  # type: ignore[no-untyped-def]
    token = ehr.hook_jwt(f"{SIGNPOST}/cds-services/{service}")
    return hooks.post(
        f"/cds-services/{service}",
        content=content,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )


def _body(ehr, **changes):  # type: ignore[no-untyped-def]
    body = ehr.hook_request("patient-view", prefetch=True)
    for key, value in changes.items():
        if value is None:
            body.pop(key, None)
        else:
            body[key] = value
    return json.dumps(body).encode()


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"{not json", "not JSON"),
        (b"[1, 2]", "JSON object"),
        ("hook=None", "hook"),
        ("hookInstance=None", "hookInstance"),
        ("context=None", "context"),
        ("context={}", "patientId"),
        ("context={'patientId': '../../etc/passwd'}", "patientId"),
        ("hook='order-sign'", "patient-view"),
        ("fhirServer='https://evil.example.test/fhir'", "fhirServer"),
        ("fhirAuthorization={'token_type': 'Bearer'}", "access_token"),
    ],
)
def test_a_malformed_call_is_400_naming_what_is_wrong(hooks, ehr, content, words) -> None:  # type: ignore[no-untyped-def]
    if isinstance(content, str):
        name, _, value = content.partition("=")
        content = _body(ehr, **{name: eval(value)})  # noqa: S307 (the test's own literals)
    answer = _send(hooks, ehr, content)
    assert answer.status_code == 400, answer.text
    assert words in answer.json()["detail"]
    assert answer.headers["content-type"].startswith("application/problem+json")


def test_an_unknown_service_is_404(hooks, ehr) -> None:  # type: ignore[no-untyped-def]
    answer = _send(hooks, ehr, _body(ehr), service="no-such-service")
    assert answer.status_code == 404
