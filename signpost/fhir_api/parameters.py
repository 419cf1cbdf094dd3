"""Operation inputs from a Parameters body (POST), read with the same names and types as the GET query."""

from typing import Any

from signpost.errors import Problem

# FHIR value[x] suffixes a caller may use for each input type (a canonical is a uri; FHIR clients send either).
ACCEPTED = {
    "uri": ("valueUri", "valueCanonical", "valueUrl", "valueString"),
    "string": ("valueString",),
    "date": ("valueDate", "valueDateTime", "valueString"),
    "code": ("valueCode", "valueString"),
}


def operation_inputs(body: Any, *, names: dict[str, str]) -> dict[str, str]:
    """The named inputs of a Parameters resource as strings; anything else is 400 with what was wrong."""
    if not isinstance(body, dict) or body.get("resourceType") != "Parameters":
        raise Problem(400, "The body must be a Parameters resource.")
    found: dict[str, str] = {}
    for index, parameter in enumerate(body.get("parameter") or []):
        name = parameter.get("name") if isinstance(parameter, dict) else None
        where = f"Parameters.parameter[{index}]"
        if name not in names:
            raise Problem(
                400,
                f"{where}: unknown parameter {name!r}; this operation takes {', '.join(sorted(names))}.",
                errors=[{"loc": where, "message": "unknown parameter"}],
            )
        values = [parameter[key] for key in ACCEPTED[names[name]] if key in parameter]
        if len(values) != 1 or not isinstance(values[0], str):
            wanted = " or ".join(ACCEPTED[names[name]])
            raise Problem(400, f"{where} ({name}): give one {wanted}.", errors=[{"loc": where, "message": wanted}])
        if name in found:
            raise Problem(400, f"{where}: {name} is given twice.", errors=[{"loc": where, "message": "repeated"}])
        found[name] = values[0]
    return found
