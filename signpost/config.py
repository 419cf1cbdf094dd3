"""One settings object for the whole service (environment prefix `SIGNPOST_`)."""

import inspect
import json
import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from fastapi import Depends, Request
from pydantic import BaseModel, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent


def data_dir(name: str) -> Path:
    """Where a shipped data folder (`fhir`, `directory`) lives: in the wheel or in the checkout."""
    packaged = Path(__file__).resolve().parent / "_data" / name
    return packaged if packaged.is_dir() else ROOT / name


class TrustedEhr(BaseModel):
    """An EHR registered with Signpost: its CDS Hooks JWT issuer and JWKS, and its SMART launch client."""

    issuer: str  # the `iss` of its CDS Hooks JWTs and of a SMART launch (its FHIR base URL)
    jwks_url: str = ""  # where its CDS Hooks signing keys are published
    client_id: str = ""  # Signpost's client id as registered with its authorization server
    scopes: str = (
        "launch openid fhirUser patient/Patient.read patient/QuestionnaireResponse.write "
        "patient/Observation.write patient/ServiceRequest.write"
    )

    @property
    def base(self) -> str:
        return self.issuer.rstrip("/")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SIGNPOST_", extra="ignore")

    environment: Literal["development", "production"] = "development"
    var_dir: Path = ROOT / "var"
    database_url: str = ""
    # Secrets: generated into var/secrets.json in development, required from the environment in production.
    secret_key: str = ""
    admin_bootstrap_key: str = ""
    max_body_bytes: int = 1024 * 1024
    # Directory feed uploads only (a real council feed is a few MB); every other route keeps max_body_bytes.
    import_max_body_bytes: int = 50 * 1024 * 1024
    log_level: str = "INFO"
    public_base_url: str = "http://127.0.0.1:8000"
    fhir_max_count: int = 100
    fhir_default_count: int = 20
    local_authorities: list[str] = Field(default_factory=lambda: ["E08000035"])
    geography_data_dir: Path = ROOT.parent / "shared" / "data" / "geo"
    postcode_resolver_url: str = ""
    postcode_resolver_timeout_s: float = 2.0
    review_months: int = 12
    matches_per_need: int = 3
    # Practice names by ODS code, for the patient's leaflet ("From Chapel Allerton Surgery"); JSON in the environment.
    practice_names: dict[str, str] = Field(default_factory=dict)
    # How long a worker routes from what it read of a category's services before reading them again; 0: every time.
    routing_cache_seconds: float = Field(default=5.0, ge=0)
    # How often the server folds newly recorded events into the roll-ups (rollup.fold_pending); 0: never.
    fold_seconds: float = Field(default=1.0, ge=0)
    # PostgreSQL: the worker threads a server process runs blocking routes in (anyio's default is 40). Each thread
    # waiting on the database hands the interpreter back and forth with the event loop and the other threads: the
    # soak's mixed load ran fastest on 2 (bench/README.md, "Soak"). A directory import holds one while it runs. On
    # SQLite it stays 40: there a request may need a thread while the others wait in theirs for the writer lock.
    worker_threads: int = Field(default=2, ge=1, le=200)
    suppression_policy: Literal["nhs", "threshold", "none"] = "nhs"
    suppression_threshold: int = 10
    report_max_months: int = 36
    indicator_endpoint_url: str = ""
    indicator_endpoint_token: str = ""
    # Referrals not answered (still requested or received) after this many working days are highlighted.
    referral_reply_working_days: int = Field(default=5, ge=1)
    # Closed referrals (and their tokens) are deleted this many months after closing; their counts stay.
    referral_retention_months: int = Field(default=6, ge=1)
    # E-mail to providers about new and late referrals (never naming a need); off while smtp_host is empty.
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_starttls: bool = False
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_from: str = "signpost@localhost"
    # Raw events older than this are deleted once folded into the roll-ups (storage limitation); 0: kept for ever.
    event_retention_months: int = Field(default=24, ge=0)
    # How often the server deletes the events past retention; 0: never (run `signpost indicators retain`).
    retention_seconds: float = Field(default=6 * 3600.0, ge=0)
    # /metrics: "key" needs an analyst or admin key, or SIGNPOST_METRICS_KEY; "loopback": loopback clients only.
    metrics_access: Literal["key", "loopback"] = "key"
    metrics_key: str = ""
    # EHRs that may call the CDS Hooks services and launch the template (see README "Inside the clinical system").
    trusted_ehrs: list[TrustedEhr] = Field(default_factory=list)
    # How long a call to an EHR (its FHIR server, JWKS or token endpoint) may take before Signpost gives up on it.
    ehr_timeout_s: float = Field(default=5.0, gt=0)

    @model_validator(mode="after")
    def _production_needs_secrets(self) -> "Settings":
        if self.environment == "production":
            missing = [name for name in ("database_url", "secret_key") if not getattr(self, name)]
            if missing:
                env = ", ".join("SIGNPOST_" + m.upper() for m in missing)
                raise ValueError(f"production needs {env} set in the environment")
        return self

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.var_dir / 'signpost.db'}"


def load_dev_secrets(settings: Settings) -> Settings:
    """Fill missing secrets from var/secrets.json, creating it (mode 0600) on first run."""
    if settings.environment == "production" or settings.secret_key:
        return settings
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    path = settings.var_dir / "secrets.json"
    if path.exists():
        stored = json.loads(path.read_text())
    else:
        stored = {"secret_key": secrets.token_urlsafe(48)}
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(stored, handle)
    settings.secret_key = stored["secret_key"]
    return settings


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings; a FastAPI dependency that tests override."""
    return load_dev_secrets(Settings())


async def request_settings(request: Request) -> Settings:
    """The settings of the app serving the request (create_app's), as a route dependency (tests override this one).
    Async, because FastAPI runs a plain function dependency in its thread pool: a trip to a worker thread."""
    settings: Settings = request.app.state.settings
    return settings


async def settings_for(request: Request) -> Settings:
    """What `SettingsDep` gives a route, for a route that reads its own (`auth.deps.checks_caller`): the app's
    settings, or what the app's override of request_settings (a test's, called without arguments) returns."""
    override = request.app.dependency_overrides.get(request_settings)
    if override is None:
        return await request_settings(request)
    found = override()
    return await found if inspect.isawaitable(found) else found


SettingsDep = Annotated[Settings, Depends(request_settings)]
