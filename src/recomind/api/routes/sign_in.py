"""``POST /auth/token``: the demo web app's sign-in (``RECOMIND_WEB_SIGN_IN``).

Choose a user (``user_id``), or create one (``name``, with or without a ``user_id``), and get
a user token for it. There is no password: anyone who can reach this endpoint can act as any
user, which is why it is off unless turned on (the embedded demo turns it on) and refused in
production. A real app signs its users in itself and mints their tokens in its own backend
with ``RECOMIND_TOKEN_SECRET`` (docs/security.md).
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, StringConstraints
from starlette.concurrency import run_in_threadpool

from recomind.api.deps import StateDep
from recomind.api.responses import errors
from recomind.api.tokens import mint_token
from recomind.errors import NotFoundError
from recomind.schemas import Id, StrictModel, User
from recomind.storage import users
from recomind.storage.engine import read_tx, write_tx

router = APIRouter(tags=["auth"])


class SignIn(StrictModel):
    user_id: Id | None = None
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = None


class TokenIssued(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int
    user: User


@router.post(
    "/auth/token",
    response_model=TokenIssued,
    # 404: web sign-in is off, or no such user (and no name to create one)
    responses=errors(404, body=True, public=True),
)
async def sign_in(body: SignIn, state: StateDep) -> TokenIssued:
    settings = state.settings
    if not settings.web_sign_in or settings.token_secret is None:
        raise HTTPException(404, "web sign-in is off (RECOMIND_WEB_SIGN_IN, RECOMIND_TOKEN_SECRET)")

    def find_or_create() -> User:
        if body.user_id is not None:
            with read_tx(state.engine) as conn:
                found = users.get_user(conn, user_id=body.user_id)
            if found is not None:
                return found
        if body.name is None:
            raise NotFoundError("user", "body.user_id", body.user_id or "")
        with write_tx(state.engine) as conn:
            return users.create_user(conn, user_id=body.user_id, name=body.name)

    user = await run_in_threadpool(find_or_create)
    token = mint_token(settings, user.user_id)
    return TokenIssued(access_token=token, expires_in=settings.token_ttl_s, user=user)
