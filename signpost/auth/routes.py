"""Admin API for keys."""

from typing import Annotated

from fastapi import APIRouter, Depends

from signpost.auth import Caller, Role, allow, service
from signpost.auth.schemas import KeyCreate, KeyCreated, KeyRead
from signpost.db import SessionDep

router = APIRouter(prefix="/api/v1/admin/keys", tags=["admin"])
AdminDep = Annotated[Caller, Depends(allow(Role.admin))]


@router.post("", status_code=201, response_model=KeyCreated, operation_id="create_key")
def create_key(body: KeyCreate, session: SessionDep, _actor: AdminDep) -> KeyCreated:
    """Create an API key; the secret is in this answer only."""
    record, secret = service.create_key(
        session=session, role=body.role.value, name=body.name, practice_ods=body.practice_ods
    )
    return KeyCreated(**KeyRead.model_validate(record, from_attributes=True).model_dump(), key=secret)


@router.get("", response_model=list[KeyRead], operation_id="list_keys")
def list_keys(session: SessionDep, _actor: AdminDep) -> list[KeyRead]:
    """List keys (never their secrets)."""
    return [KeyRead.model_validate(k, from_attributes=True) for k in service.list_keys(session=session)]


@router.post("/{key_id}/revoke", response_model=KeyRead, operation_id="revoke_key")
def revoke_key(key_id: int, session: SessionDep, _actor: AdminDep) -> KeyRead:
    """Revoke a key; it stops working at once."""
    record = service.revoke_key(session=session, key_id=key_id)
    return KeyRead.model_validate(record, from_attributes=True)
