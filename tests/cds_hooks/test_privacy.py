"""The privacy canary through CDS Hooks: the test patient's identifiers (in the prefetch, in the EHR's answers, in
feedback) reach neither a table nor a log line."""

import logging

from signpost.ops.logging import JsonFormatter
from tests.cds_hooks.conftest import call
from tests.reliability import canary
from tests.reliability.test_privacy_canary import _dump


def test_hook_calls_store_and_log_nothing_identifying(hooks, ehr, directory, session, mock_ehr, caplog) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.DEBUG)
    assert call(hooks, ehr, "signpost-patient-view", ehr.hook_request("patient-view", prefetch=True)).status_code == 200
    mock_ehr.get(url__startswith=ehr.fhir_base).respond(500, json={"issue": [{"diagnostics": canary.NAME}]})
    assert (
        call(hooks, ehr, "signpost-patient-view", ehr.hook_request("patient-view", prefetch=False)).status_code == 200
    )
    feedback = {"feedback": [{"card": canary.NHS_NUMBER, "outcome": "overridden", "outcomeTimestamp": canary.BIRTH_DATE,
                              "overrideReason": {"userComment": canary.FREE_TEXT}}]}  # fmt: skip
    assert call(hooks, ehr, "signpost-patient-view/feedback", feedback).status_code == 200
    broken = ehr.hook_request("patient-view", prefetch=True)
    broken["context"]["patientId"] = canary.NAME
    assert call(hooks, ehr, "signpost-patient-view", broken).status_code == 400
    found = {table: traces for table, rows in _dump(session).items() if (traces := canary.traces_in(rows))}
    assert not found, f"stored identifiers: {found}"
    formatter = JsonFormatter()
    leaked = [line for r in caplog.records if canary.traces_in(line := formatter.format(r) + repr(r.args))]
    assert not leaked, f"logged identifiers: {leaked[:3]}"
