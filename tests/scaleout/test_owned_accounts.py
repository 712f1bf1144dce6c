"""``runtime.accounts``: which accounts one engine process runs; bad ids are refused."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from moonlight.core.config.models import MoonlightConfig

ACCOUNTS = [{"id": name, "connector": "paper", "mode": "paper", "products": ["EURUSD"],
             "timeframes": ["1m"]} for name in ("a", "b", "c")]  # fmt: skip


def config(runtime_accounts: list[str] | None) -> MoonlightConfig:
    runtime = {} if runtime_accounts is None else {"accounts": runtime_accounts}
    return MoonlightConfig.model_validate({"accounts": ACCOUNTS, "runtime": runtime})


def test_default_is_every_account_in_configuration_order() -> None:
    assert [a.id for a in config(None).owned_accounts()] == ["a", "b", "c"]


def test_a_subset_keeps_configuration_order() -> None:
    assert [a.id for a in config(["c", "a"]).owned_accounts()] == ["a", "c"]


@pytest.mark.parametrize(("chosen", "message"), [
    (["a", "zz"], "runtime.accounts names accounts not configured: zz"),
    ([], "runtime.accounts is empty"),
])  # fmt: skip
def test_unknown_or_no_account_is_a_clear_error(chosen: list[str], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        config(chosen)
