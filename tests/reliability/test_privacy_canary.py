"""Privacy canary: identifiers planted in every header, query parameter, path parameter and body field of every
route; no table, no log line, no metric and no answer's request id holds them.

Routes come from the app's route table and request shapes from its OpenAPI, so new routes are covered as they
land. Routes only editors and admins may call are left out: they keep staff-entered reference data (service
contact details, key and user names) by design, and no patient's details belong there.
"""

import logging
from typing import Any
from urllib.parse import quote

import pytest
from sqlalchemy import inspect, text

from signpost.app import create_app
from signpost.config import Settings
from signpost.ops.logging import JsonFormatter
from tests.reliability import canary
from tests.reliability.conftest import Credentials
from tests.reliability.routes import Operation, operations

APP = create_app(Settings(secret_key="collection-only", database_url="sqlite://"))
SPEC = APP.openapi()
CLINICAL = {"public", "clinician", "prescriber", "analyst"}
# Every route those callers may reach: headers reach all of them, inputs or not.
INPUTS = [op for op in operations(APP) if set(op.roles or ()) & CLINICAL]
# Headers a client might put a patient's details in, the request id (logged) and the retry key (kept as an HMAC)
# among them.
PLANTED_HEADERS = ("X-Request-ID", "Idempotency-Key", "User-Agent", "Referer", "X-Forwarded-For", "X-Patient")


def _caller(op: Operation, credentials: dict[str, Credentials]) -> Credentials:
    for role in ("prescriber", "clinician", "analyst"):
        if role in (op.roles or ()):
            return credentials[role]
    return credentials["anonymous"]


def _body(op: Operation, planted: str, csrf: str) -> dict[str, Any]:
    kind = op.body_kind()
    if kind == "fhir":
        import json

        body = canary.questionnaire_response(planted)
        return {"content": json.dumps(body).encode(), "headers": {"content-type": "application/fhir+json"}}
    if kind == "form":
        fields = {p.alias or p.name: planted for p in op.route.dependant.body_params}
        return {"data": {**fields, "csrf_token": csrf}}
    if kind == "json":
        operation = SPEC["paths"].get(op.path, {}).get(op.method.lower(), {})
        media = operation.get("requestBody", {}).get("content", {})
        schema = next(iter(media.values()), {}).get("schema", {})
        return {"json": canary.instance(SPEC, schema, planted)}
    return {}


def _recipes(op: Operation, session) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    """Valid requests that get past validation, with the identifiers where a real client would put them."""
    if op.id == "POST /api/v1/signposts":
        return [
            {
                "json": {
                    "services": [_a_service_id(session)],
                    "needs": ["housing-at-risk"],
                    "kind": kind,
                    "postcode": canary.POSTCODE,
                    "birth_date": canary.BIRTH_DATE,
                },
                "headers": {"Idempotency-Key": f"{canary.NHS_NUMBER}-{kind}"},
            }
            for kind in ("signposted", "referred")
        ]
    if op.id == "POST /api/v1/signposts/batch":
        item = {
            "services": [_a_service_id(session)],
            "needs": ["housing-at-risk"],
            "postcode": canary.POSTCODE,
            "birth_date": canary.BIRTH_DATE,
        }
        items = [
            {**item, "kind": kind, "idempotency_key": f"{canary.NHS_NUMBER}-{kind}"}
            for kind in ("signposted", "referred")
        ]
        return [{"json": {"signposts": items}}]
    if op.id == "POST /api/v1/referrals":
        return [{"json": {"service": _a_service_id(session), "need": "debt-priority", "postcode": canary.POSTCODE}}]
    if op.method == "POST" and op.path.startswith("/fhir/QuestionnaireResponse/"):
        return [_fhir(body) for body in _questionnaire_responses()]
    return []


def _fhir(body: dict[str, Any]) -> dict[str, Any]:
    import json

    return {"content": json.dumps(body).encode(), "headers": {"content-type": "application/fhir+json"}}


def _questionnaire_responses() -> list[dict[str, Any]]:
    """Valid template answers with every need, the patient's details alongside as a client might send them."""
    try:
        from tests.template.builders import ALL_NEEDS, make_response
    except ImportError:
        return []
    patient = canary.questionnaire_response(canary.FREE_TEXT)["contained"]
    plain = make_response(
        ALL_NEEDS,
        identifier={"system": "urn:canary", "value": canary.NHS_NUMBER},
        contained=patient,
        subject={"reference": "#p", "display": canary.NAME},
    )
    parameters = {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "response", "resource": make_response(ALL_NEEDS, identifier={"value": canary.EMAIL})},
            {"name": "postcode", "valueString": canary.POSTCODE},
            {"name": "birthDate", "valueDate": canary.BIRTH_DATE},
        ],
    }
    return [plain, parameters]


def _a_service_id(session) -> str:  # type: ignore[no-untyped-def]
    try:
        from signpost.directory import service as directory
        from signpost.directory.schemas import ServiceIn
    except ImportError:
        return "no-directory-yet"
    data = ServiceIn.model_validate({"name": "Canary housing advice", "organization": {"name": "Canary trust"}})
    created = directory.create_service(session=session, data=data, actor="canary editor", allow_duplicate=True)
    session.flush()
    return str(created.id)


def _dump(session) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Every column of every row of every table, as text."""
    connection = session.connection()
    dumped = {}
    for table in inspect(connection).get_table_names():
        rows = connection.execute(text(f'SELECT * FROM "{table}"')).all()
        dumped[table] = "\n".join(repr(tuple(row)) for row in rows)
    return dumped


@pytest.mark.parametrize("op", INPUTS, ids=[op.id for op in INPUTS])
def test_planted_identifiers_are_neither_stored_nor_logged(op: Operation, client, session, credentials, caplog) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.DEBUG)
    given = _caller(op, credentials)
    requests = []
    for planted in canary.PLANTED:
        kwargs = _body(op, planted, given.csrf)
        kwargs["headers"] = {**kwargs.get("headers", {}), **dict.fromkeys(PLANTED_HEADERS, planted)}
        if op.route.dependant.query_params:
            kwargs["params"] = {p.alias or p.name: planted for p in op.route.dependant.query_params}
        requests.append((op.url(quote(planted, safe="")), kwargs))
    requests += [(op.url(), kwargs) for kwargs in _recipes(op, session)]

    statuses = []
    for url, kwargs in requests:
        headers = {**kwargs.pop("headers", {}), **({} if op.is_page else given.headers)}
        client.cookies.clear()
        client.cookies.update(given.cookies if op.is_page else {})
        response = client.request(op.method, url, headers=headers, follow_redirects=False, **kwargs)
        statuses.append(response.status_code)
        assert response.status_code < 500, f"{url}: {response.status_code}"
        assert not canary.traces_in(response.headers.get("x-request-id", "")), f"{url}: request id echoed"

    found = {table: traces for table, rows in _dump(session).items() if (traces := canary.traces_in(rows))}
    assert not found, f"{op.id} stored identifiers: {found}"
    formatter = JsonFormatter()
    leaked = [line for r in caplog.records if canary.traces_in(line := formatter.format(r) + repr(r.args))]
    assert not leaked, f"{op.id} logged identifiers: {leaked[:3]}"
    metrics = client.get("/metrics", headers=credentials["analyst"].headers)
    assert metrics.status_code == 200 and not canary.traces_in(metrics.text), f"{op.id}: identifiers in /metrics"
    if _recipes(op, session):
        assert any(s < 300 for s in statuses), f"{op.id}: no planted request was accepted ({statuses})"


def test_the_canary_finds_an_identifier_that_is_stored(client, session, credentials) -> None:  # type: ignore[no-untyped-def]
    """The detector itself: a key named after the planted patient is found in the dump."""
    client.post(
        "/api/v1/admin/keys", headers=credentials["admin"].headers, json={"role": "analyst", "name": canary.NAME}
    )
    assert "api_key" in {table for table, rows in _dump(session).items() if canary.traces_in(rows)}
