"""``moonlight trading resume CONFIG --operator NAME``: resume after a storage halt.

A storage fault halts an account's executor in the running engine until an operator
decides it is safe to trade again. The engine runs in another process (``moonlight
run``), so this command asks it through its local API — the same audited, alarmed
``POST /api/v1/trading/resume`` the dashboard uses — with the API token from
``<data_dir>/api-token``. Standard library HTTP only, never through a proxy.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import click

from moonlight.core.cli.loading import load_base_or_exit
from moonlight.core.config.models import MoonlightConfig
from moonlight.core.runtime.control import API_TOKEN_FILE

TIMEOUT_S = 30.0


@click.group("trading")
def trading_group() -> None:
    """Act on the trading of a running engine (through its local API)."""


@trading_group.command("resume")
@click.argument("config_file", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option("--operator", required=True, help="Your name, for the audit log and the alarm.")
@click.option("--account", "account_id", default=None, help="Only this account (default: all).")
def resume_cmd(config_file: Path, operator: str, account_id: str | None) -> None:
    """Let the accounts of the engine running with CONFIG trade again after a halt."""
    config, _ = load_base_or_exit(config_file)
    body = {"operator": operator, "account_id": account_id}
    answer = call_api(config, "POST", "/api/v1/trading/resume", body)
    resumed = answer.get("resumed", [])
    refused = answer.get("refused", {})
    click.echo(f"resumed: {', '.join(resumed)}" if resumed else "no account was halted")
    for account, why in refused.items():
        click.echo(f"still halted: {account}: {why}", err=True)


def api_base_url(config: MoonlightConfig) -> str:
    """The local URL of the engine's API (a wildcard bind is reached on loopback)."""
    host = config.server.host
    host = "127.0.0.1" if host in ("0.0.0.0", "") else "::1" if host == "::" else host
    host = f"[{host}]" if ":" in host else host
    return f"http://{host}:{config.server.port}"


def call_api(
    config: MoonlightConfig, method: str, path: str, body: dict[str, Any]
) -> dict[str, Any]:
    """One authenticated JSON call to the running engine's API; ClickException on failure."""
    token_path = Path(config.data_dir) / API_TOKEN_FILE
    try:
        token = token_path.read_text(encoding="ascii").strip()
    except OSError:
        raise click.ClickException(
            f"no API token at {token_path}: is the engine running with the server?"
        ) from None
    url = api_base_url(config) + path
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        method=method,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=TIMEOUT_S) as response:
            answer: dict[str, Any] = json.loads(response.read())
            return answer
    except urllib.error.HTTPError as error:
        raise click.ClickException(f"{error.code}: {_detail(error.read())}") from None
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise click.ClickException(
            f"the engine's API is not reachable at {api_base_url(config)} ({reason}):"
            " is `moonlight run` running with the server?"
        ) from None


def _detail(raw: bytes) -> str:
    try:
        detail = json.loads(raw).get("detail", "")
    except (ValueError, AttributeError):
        return raw[:200].decode("utf-8", "replace")
    return detail if isinstance(detail, str) else json.dumps(detail)
