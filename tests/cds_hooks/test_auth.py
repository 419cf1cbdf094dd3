"""Only a trusted EHR's signed JWT opens the CDS Services: everything else is 401 (an API key is 403)."""

import time
import uuid

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from signpost.auth import service as keys
from tests.cds_hooks.conftest import EHR_BASE, SIGNPOST, call
from tests.simulated_ehr.app import Ehr

SERVICE = "signpost-patient-view"
URL = f"{SIGNPOST}/cds-services/{SERVICE}"


def _post(hooks, ehr: Ehr, token: str | None):  # type: ignore[no-untyped-def]
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return hooks.post(f"/cds-services/{SERVICE}", json=ehr.hook_request("patient-view", prefetch=True), headers=headers)


def test_a_valid_jwt_is_let_in(hooks, ehr) -> None:  # type: ignore[no-untyped-def]
    assert call(hooks, ehr, SERVICE, ehr.hook_request("patient-view", prefetch=True)).status_code == 200


def test_no_jwt_is_401(hooks, ehr) -> None:  # type: ignore[no-untyped-def]
    answer = _post(hooks, ehr, None)
    assert answer.status_code == 401
    assert "JWT" in answer.json()["detail"]
    assert answer.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    ("claims", "words"),
    [
        ({"exp": int(time.time()) - 120, "iat": int(time.time()) - 200}, "expired"),
        ({"iss": "https://other-ehr.example.test/fhir"}, "not an EHR this service trusts"),
        ({"aud": f"{SIGNPOST}/cds-services/signpost-order-select"}, "audience"),
        ({"aud": "https://elsewhere.example.test/cds-services/signpost-patient-view"}, "audience"),
        ({"iat": int(time.time()) + 600, "exp": int(time.time()) + 700}, "future"),
        ({"exp": int(time.time()) + 3600}, "five minutes"),
        ({"jti": None}, "jti"),
    ],
    ids=["expired", "wrong-issuer", "another-service", "wrong-audience", "issued-in-future", "too-long", "no-jti"],
)
def test_a_jwt_with_wrong_claims_is_401(hooks, ehr, claims, words) -> None:  # type: ignore[no-untyped-def]
    token = ehr.hook_jwt(URL, **claims)
    if claims.get("jti", "") is None:
        payload = jwt.decode(token, options={"verify_signature": False})
        del payload["jti"]
        token = jwt.encode(payload, ehr.key, algorithm="ES384", headers={"kid": ehr.kid})
    answer = _post(hooks, ehr, token)
    assert answer.status_code == 401
    assert words in answer.json()["detail"]


def test_a_jwt_signed_by_another_key_is_401(hooks, ehr) -> None:  # type: ignore[no-untyped-def]
    impostor = Ehr(base_url=EHR_BASE, signpost_url=SIGNPOST, kid=ehr.kid)  # same issuer and kid, another key
    answer = _post(hooks, ehr, impostor.hook_jwt(URL))
    assert answer.status_code == 401
    assert "signature" in answer.json()["detail"]


def test_a_jwt_with_an_unknown_kid_is_401_after_reading_the_keys_again(hooks, ehr, mock_ehr) -> None:  # type: ignore[no-untyped-def]
    stranger = Ehr(base_url=EHR_BASE, signpost_url=SIGNPOST)
    answer = _post(hooks, ehr, stranger.hook_jwt(URL))
    assert answer.status_code == 401 and "kid" in answer.json()["detail"]
    assert mock_ehr.routes[0].call_count == 1


def test_a_rotated_key_is_found_by_reading_the_keys_again(hooks, ehr, mock_ehr) -> None:  # type: ignore[no-untyped-def]
    assert call(hooks, ehr, SERVICE, ehr.hook_request("patient-view", prefetch=True)).status_code == 200
    rotated = Ehr(base_url=EHR_BASE, signpost_url=SIGNPOST)
    mock_ehr.routes[0].respond(json=rotated.jwks())
    assert call(hooks, rotated, SERVICE, rotated.hook_request("patient-view", prefetch=True)).status_code == 200


@pytest.mark.parametrize("algorithm", ["HS256", "RS256", "none"])
def test_algorithms_other_than_es384_and_rs384_are_401(hooks, ehr, algorithm) -> None:  # type: ignore[no-untyped-def]
    claims = jwt.decode(ehr.hook_jwt(URL), options={"verify_signature": False})
    key = {"HS256": "a-shared-secret-of-enough-length-32", "RS256": rsa.generate_private_key(65537, 2048), "none": None}
    token = jwt.encode(claims, key[algorithm], algorithm=algorithm, headers={"kid": ehr.kid})
    answer = _post(hooks, ehr, token)
    assert answer.status_code == 401
    assert "ES384 or RS384" in answer.json()["detail"]


def test_an_rs384_key_is_accepted(hooks, ehr, mock_ehr) -> None:  # type: ignore[no-untyped-def]
    private = rsa.generate_private_key(65537, 2048)
    public = jwt.algorithms.RSAAlgorithm.to_jwk(private.public_key(), as_dict=True)
    mock_ehr.routes[0].respond(json={"keys": [{**public, "kid": "rsa-1", "alg": "RS384"}]})
    now = int(time.time())
    claims = {"iss": ehr.fhir_base, "aud": URL, "iat": now, "exp": now + 60, "jti": str(uuid.uuid4())}
    token = jwt.encode(claims, private, algorithm="RS384", headers={"kid": "rsa-1"})
    assert _post(hooks, ehr, token).status_code == 200


def test_a_replayed_jwt_is_401(hooks, ehr) -> None:  # type: ignore[no-untyped-def]
    token = ehr.hook_jwt(URL)
    assert _post(hooks, ehr, token).status_code == 200
    again = _post(hooks, ehr, token)
    assert again.status_code == 401 and "used before" in again.json()["detail"]


def test_garbage_in_the_header_is_401(hooks, ehr) -> None:  # type: ignore[no-untyped-def]
    assert _post(hooks, ehr, "aaa.bbb.ccc").status_code == 401


def test_unreachable_jwks_is_401(hooks, ehr, mock_ehr) -> None:  # type: ignore[no-untyped-def]
    mock_ehr.routes[0].respond(503)
    answer = _post(hooks, ehr, ehr.hook_jwt(URL))
    assert answer.status_code == 401 and "JWKS" in answer.json()["detail"]


def test_an_api_key_is_403_not_an_ehr(hooks, ehr, session) -> None:  # type: ignore[no-untyped-def]
    _, secret = keys.create_key(session=session, role="clinician", name="clinician key")
    answer = _post(hooks, ehr, secret)
    assert answer.status_code == 403


def test_feedback_needs_the_jwt_too(hooks, ehr) -> None:  # type: ignore[no-untyped-def]
    answer = hooks.post(f"/cds-services/{SERVICE}/feedback", json={"feedback": []})
    assert answer.status_code == 401


def test_an_unused_ec_curve_key_in_the_set_is_skipped(hooks, ehr, mock_ehr) -> None:  # type: ignore[no-untyped-def]
    other = jwt.algorithms.ECAlgorithm.to_jwk(ec.generate_private_key(ec.SECP256R1()).public_key(), as_dict=True)
    mock_ehr.routes[0].respond(json={"keys": [{"kty": "oct", "k": "x"}, {**other, "kid": "p256"}, *ehr.jwks()["keys"]]})
    assert call(hooks, ehr, SERVICE, ehr.hook_request("patient-view", prefetch=True)).status_code == 200
