"""A served `$signpost` request leaves nothing for the garbage collector: what it made is freed when it ends.

Reference cycles (a compiled nested function and the frame it closed over; on PostgreSQL, reads refused on the loop
and done again in a thread, whose traceback kept the frames) had kept each request's session and response until the
collector found them, and the collections that did so held every request on the loop."""

import asyncio
import gc
from typing import Any

from sqlalchemy import Engine

from signpost.config import Settings
from tests.fhir_api.committed import served, signpost_app
from tests.template.builders import make_response

PATH = "/fhir/QuestionnaireResponse/$signpost"


def _body(identifier: str) -> dict[str, Any]:
    return make_response({"work": [True], "isolation": [True]}, identifier={"value": identifier})


def test_a_signposting_request_leaves_no_reference_cycles(settings: Settings, committed_engine: Engine) -> None:
    app, headers = signpost_app(settings, committed_engine)

    async def scenario() -> list[str]:
        async with served(app) as client:
            assert (await client.post(PATH, json=_body("warm"), headers=headers)).status_code == 200
            gc.collect()
            gc.disable()
            try:
                for n in range(5):
                    assert (await client.post(PATH, json=_body(f"request-{n}"), headers=headers)).status_code == 200
                gc.set_debug(gc.DEBUG_SAVEALL)
                gc.collect()
                return [
                    f"{type(found).__module__}.{type(found).__qualname__}"
                    for found in gc.garbage
                    if type(found).__module__.startswith(("signpost", "sqlmodel", "sqlalchemy.orm"))
                ]
            finally:
                gc.set_debug(0)
                gc.garbage.clear()
                gc.enable()

    assert asyncio.run(scenario()) == []
