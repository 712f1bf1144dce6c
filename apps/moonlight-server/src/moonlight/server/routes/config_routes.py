"""The configuration in force (redacted) and the runtime overrides."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.exceptions import RequestValidationError

from moonlight.core.config import ConfigError
from moonlight.core.config.runtime_overrides import StoredOverrides
from moonlight.server import schemas
from moonlight.server.deps import Ctx, require_auth
from moonlight.server.redact import redact_tree, redacted_config
from moonlight.server.routes.errors import AUTH_ERRORS

router = APIRouter(dependencies=[Depends(require_auth)], responses=AUTH_ERRORS, tags=["config"])


@router.get("/config", response_model=schemas.ConfigOut)
async def config(context: Ctx) -> schemas.ConfigOut:
    """The configuration the engine runs with; secret-looking values are redacted."""
    return schemas.ConfigOut(config=redacted_config(context.control.config))


def _out(stored: StoredOverrides) -> schemas.OverridesOut:
    return schemas.OverridesOut(
        overrides=redact_tree(stored.overrides),
        updated_at=stored.updated_at,
        updated_by=stored.updated_by,
        applies="next_start",
    )


@router.get("/overrides", response_model=schemas.OverridesOut)
def overrides(context: Ctx) -> schemas.OverridesOut:
    """The persisted runtime overrides (top precedence from the next start)."""
    return _out(context.control.stored_overrides())


@router.put("/overrides", response_model=schemas.OverridesOut)
async def replace_overrides(body: schemas.OverridesIn, context: Ctx) -> schemas.OverridesOut:
    """Validate as the whole next configuration, persist, audit; ``{}`` clears them.

    Numbers must be finite (``Infinity``/``NaN`` are refused). Invalid overrides are
    answered 422 in the usual validation-error shape, one entry per problem,
    ``loc`` = ``["body", "overrides", "<dotted config path>"]``, and nothing is stored.
    With the engine stopped, ``moonlight overrides show|clear CONFIG`` reads and clears
    them.
    """
    operator = body.operator.strip()
    try:
        stored = await context.control.replace_overrides(body.overrides, operator=operator)
    except ConfigError as error:
        raise RequestValidationError(
            [
                {
                    "loc": ("body", "overrides", issue.path),
                    "msg": issue.message,
                    "type": "config_invalid",
                    "input": None,
                }
                for issue in error.issues
            ]
        ) from None
    return _out(stored)
