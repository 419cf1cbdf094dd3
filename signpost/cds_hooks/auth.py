"""CDS Hooks 2.0 trust: each call carries a JWT signed (ES384 or RS384) by a configured EHR, checked against the keys
that EHR publishes at its JWKS URL (fetched with httpx, kept for a few minutes)."""

import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import jwt

from signpost.config import Settings, TrustedEhr
from signpost.errors import Problem

# The two algorithms CDS Hooks 2.0 requires services to support; anything else (none, HS256) is refused.
ALGORITHMS = ("ES384", "RS384")
JWKS_SECONDS = 300.0
LEEWAY_S = 30
# The specification asks clients for tokens that expire within five minutes of being issued.
MAX_LIFETIME_S = 300 + LEEWAY_S


def _unauthorised(detail: str) -> Problem:
    return Problem(401, detail, headers={"WWW-Authenticate": 'Bearer realm="cds-services"'})


@dataclass
class _KeySet:
    fetched_at: float
    keys: dict[str | None, jwt.PyJWK] = field(default_factory=dict)


_key_sets: dict[str, _KeySet] = {}
# (issuer, jti) → expiry: a token seen once is refused if sent again before it expires.
_seen: dict[tuple[str, str], float] = {}


def forget() -> None:
    """Drop the cached key sets and the seen token ids (tests; a key rotation is picked up by itself)."""
    _key_sets.clear()
    _seen.clear()


async def _fetch_keys(url: str, timeout: float) -> _KeySet:
    try:
        async with httpx.AsyncClient(timeout=timeout, follow_redirects=False) as client:
            response = await client.get(url, headers={"Accept": "application/json"})
        response.raise_for_status()
        document = response.json()
    except (httpx.HTTPError, ValueError):
        raise _unauthorised("The issuer's signing keys could not be fetched from its JWKS URL.") from None
    found = _KeySet(time.monotonic())
    for entry in document.get("keys", []) if isinstance(document, dict) else []:
        try:
            key = jwt.PyJWK(entry)
        except (jwt.PyJWTError, ValueError, TypeError, KeyError):
            continue  # a key of a kind this service does not use (the set may hold others)
        found.keys[entry.get("kid")] = key
    return found


async def _key(ehr: TrustedEhr, kid: str | None, timeout: float) -> jwt.PyJWK:
    held = _key_sets.get(ehr.jwks_url)
    if held is None or time.monotonic() - held.fetched_at > JWKS_SECONDS or kid not in held.keys:
        # An unknown kid may be a rotated key: read the set again (at most once per call).
        held = _key_sets[ehr.jwks_url] = await _fetch_keys(ehr.jwks_url, timeout)
    if kid in held.keys:
        return held.keys[kid]
    if kid is None and len(held.keys) == 1:
        return next(iter(held.keys.values()))
    raise _unauthorised("The JWT's key id (kid) is not in the issuer's published keys.")


def _trusted(settings: Settings, issuer: Any) -> TrustedEhr:
    for ehr in settings.trusted_ehrs:
        if ehr.issuer == issuer and ehr.jwks_url:
            return ehr
    raise _unauthorised("The JWT's issuer (iss) is not an EHR this service trusts.")


async def verify(*, token: str, audience: str, settings: Settings) -> str:
    """The issuer of a valid CDS Hooks JWT for `audience` (the service's URL); 401 for anything else."""
    try:
        header = jwt.get_unverified_header(token)
        unverified = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise _unauthorised("The Authorization header does not carry a well-formed JWT.") from None
    algorithm = header.get("alg")
    if algorithm not in ALGORITHMS:
        raise _unauthorised(f"The JWT must be signed with {' or '.join(ALGORITHMS)}.")
    ehr = _trusted(settings, unverified.get("iss"))
    key = await _key(ehr, header.get("kid"), settings.ehr_timeout_s)
    try:
        claims = jwt.decode(
            token,
            key=key,
            algorithms=[algorithm],
            audience=audience,
            issuer=ehr.issuer,
            leeway=LEEWAY_S,
            options={"require": ["iss", "aud", "exp", "iat", "jti"]},
        )
    except jwt.ExpiredSignatureError:
        raise _unauthorised("The JWT has expired.") from None
    except jwt.InvalidAudienceError:
        raise _unauthorised(f"The JWT's audience (aud) must be this service's URL, {audience}.") from None
    except jwt.InvalidSignatureError:
        raise _unauthorised("The JWT's signature does not verify with the issuer's published key.") from None
    except jwt.MissingRequiredClaimError as exc:
        raise _unauthorised(f"The JWT lacks the '{exc.claim}' claim.") from None
    except jwt.ImmatureSignatureError:
        raise _unauthorised("The JWT was issued in the future (iat).") from None
    except jwt.PyJWTError:
        raise _unauthorised("The JWT is not valid for this service.") from None
    now = time.time()
    if float(claims["exp"]) - float(claims["iat"]) > MAX_LIFETIME_S:
        raise _unauthorised("The JWT lives longer than the five minutes CDS Hooks allows.")
    for seen_key, expiry in list(_seen.items()):
        if expiry < now:
            del _seen[seen_key]
    replay = (ehr.issuer, str(claims["jti"]))
    if replay in _seen:
        raise _unauthorised("The JWT has been used before (its jti was seen).")
    _seen[replay] = float(claims["exp"]) + LEEWAY_S
    return ehr.issuer
