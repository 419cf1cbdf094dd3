"""The shapes CDS Hooks 2.0 sends: a hook request, its FHIR authorization, and feedback on cards."""

from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from signpost.errors import Problem

T = TypeVar("T", bound=BaseModel)


class FhirAuthorization(BaseModel):
    """The token the EHR lends for reading what the prefetch did not carry."""

    model_config = ConfigDict(extra="allow")

    access_token: str = Field(min_length=1)
    token_type: str = "Bearer"
    expires_in: int | None = None
    scope: str = ""
    subject: str = ""


class HookRequest(BaseModel):
    """A call to a CDS Service."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    hook: str = Field(min_length=1)
    hook_instance: str = Field(alias="hookInstance", min_length=1)
    fhir_server: str | None = Field(default=None, alias="fhirServer")
    fhir_authorization: FhirAuthorization | None = Field(default=None, alias="fhirAuthorization")
    context: dict[str, Any]
    prefetch: dict[str, Any] | None = None

    @property
    def patient_id(self) -> str:
        return str(self.context.get("patientId") or "")


class Override(BaseModel):
    model_config = ConfigDict(extra="allow")

    reason: dict[str, Any] | None = None
    userComment: str | None = None


class Feedback(BaseModel):
    """What the EHR says the clinician did with one card."""

    model_config = ConfigDict(extra="allow")

    card: str = Field(min_length=1)
    outcome: Literal["accepted", "overridden"]
    acceptedSuggestions: list[dict[str, Any]] = Field(default_factory=list)
    overrideReason: Override | None = None
    outcomeTimestamp: str


class FeedbackBody(BaseModel):
    feedback: list[Feedback] = Field(min_length=1)


def _message(error: ValidationError) -> tuple[str, list[dict[str, Any]]]:
    errors = [{"loc": ".".join(str(p) for p in e["loc"]) or "body", "message": e["msg"]} for e in error.errors()[:10]]
    first = errors[0]
    return f"The request body is not a valid CDS Hooks call: {first['loc']}: {first['message']}.", errors


def parse(model: type[T], body: Any) -> T:
    """The body as `model`, or 400 naming the first thing wrong (never echoing values: they may identify)."""
    if not isinstance(body, dict):
        raise Problem(400, "The request body must be a JSON object.")
    try:
        return model.model_validate(body)
    except ValidationError as error:
        detail, errors = _message(error)
        raise Problem(400, detail, errors=errors) from None
