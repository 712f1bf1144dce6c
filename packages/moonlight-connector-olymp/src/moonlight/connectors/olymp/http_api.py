"""The two HTTP calls of the connector: token renewal and closed-deal history.

* **Renewal** (brief 2.2, 3.1): ``POST renew_url`` with an empty body and the
  ``refresh_token`` cookie; the new ``access_token`` (and a rotated ``refresh_token``)
  come back in ``Set-Cookie``. Renewed tokens are kept in memory only.
* **Closed deals** (brief 2.2, 4.7): ``POST {api_url}/v3/cabinet/deals-history`` with
  ``{limit, group, order: "time_close", page, account_id}`` — the fallback that finds a
  settlement whose e:26 push was lost. Its current reply shape is unverified; the parser
  accepts the plausible ones (:func:`~moonlight.connectors.olymp.payloads.parse_history`).

Every request goes to an allow-listed host, never follows redirects and ignores proxy
environment variables, so a token cannot be sent anywhere else. Tokens never appear in
logs or in ``repr``.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from moonlight.connectors.olymp.config import OlympConfig
from moonlight.connectors.olymp.payloads import DealData, parse_history
from moonlight.connectors.olymp.redact import install as install_redaction
from moonlight.connectors.olymp.safety import check_url
from moonlight.core.connectors.contract import AuthFailed, RateLimited, Transient

log = logging.getLogger("moonlight.connectors.olymp")

HISTORY_PATH = "/v3/cabinet/deals-history"


def client_id_headers(ws_url: str) -> dict[str, str]:
    """The ``x-cid-*`` headers the web app sends, taken from the ``cid_*`` URL parameters."""
    query = parse_qs(urlsplit(ws_url).query)
    return {
        f"x-{key.replace('_', '-')}": values[0]
        for key, values in query.items()
        if key.startswith("cid_")
    }


class Tokens:
    """The session's access token and optional refresh token (in memory, redacted)."""

    def __init__(self, access_token: str, refresh_token: str | None) -> None:
        if not access_token:
            raise AuthFailed("no Olymp access token: set it with `moonlight secrets set NAME`")
        self._access = access_token
        self._refresh = refresh_token or None
        self.renewals = 0

    def __repr__(self) -> str:
        return f"Tokens(access=<redacted>, refresh={'<redacted>' if self._refresh else None})"

    @property
    def can_renew(self) -> bool:
        """True when a refresh token is available."""
        return self._refresh is not None

    def cookie(self) -> str:
        """The ``Cookie`` header value that authenticates the WebSocket upgrade."""
        return f"access_token={self._access}"

    def refresh_cookie(self) -> str:
        """The ``Cookie`` header value of a renewal request."""
        if self._refresh is None:
            raise AuthFailed("no refresh token to renew the access token with")
        return f"refresh_token={self._refresh}"

    def replace(self, access_token: str, refresh_token: str | None) -> None:
        """Adopt renewed tokens (a missing rotated refresh token keeps the old one)."""
        self._access = access_token
        if refresh_token:
            self._refresh = refresh_token
        self.renewals += 1


def _cookie_values(response: httpx.Response) -> dict[str, str]:
    values: dict[str, str] = {}
    for header in response.headers.get_list("set-cookie"):
        name, _, rest = header.partition("=")
        values[name.strip()] = rest.split(";", 1)[0].strip()
    return values


class OlympHttp:
    """HTTP client of the connector (one pooled ``httpx.AsyncClient``, created lazily)."""

    def __init__(self, config: OlympConfig, tokens: Tokens) -> None:
        install_redaction()
        self.config = config
        self.tokens = tokens
        self._client: httpx.AsyncClient | None = None
        self._headers = {
            "Origin": config.origin,
            "Referer": config.origin.rstrip("/") + "/",
            "User-Agent": config.user_agent,
            **client_id_headers(config.ws_url),
        }

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=self.config.request_timeout_s, follow_redirects=False, trust_env=False
            )
        return self._client

    async def aclose(self) -> None:
        """Close the pooled connections."""
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def renew(self) -> None:
        """Renew the access token; raises :class:`AuthFailed` when that is impossible."""
        url = check_url(
            self.config.renew_url,
            self.config.allowed_hosts,
            purpose="renew_url",
            schemes=("https",),
        )
        headers = {**self._headers, "Cookie": self.tokens.refresh_cookie()}
        try:
            response = await self._http().post(url, headers=headers, content=b"")
        except httpx.HTTPError as error:
            raise AuthFailed(f"token renewal failed: {type(error).__name__}") from None
        cookies = _cookie_values(response)
        access = cookies.get("access_token")
        if response.status_code != 200 or not access:
            raise AuthFailed(f"token renewal refused (HTTP {response.status_code})")
        self.tokens.replace(access, cookies.get("refresh_token"))
        log.info("olymp access token renewed (renewal %d)", self.tokens.renewals)

    async def closed_deals(self, account_id: str, group: str, *, page: int = 1) -> list[DealData]:
        """One page of the account's closed deals, most recently closed first."""
        url = check_url(
            self.config.api_url.rstrip("/") + HISTORY_PATH,
            self.config.allowed_hosts,
            purpose="api_url",
            schemes=("https",),
        )
        account: Any = int(account_id) if account_id.isdigit() else account_id
        body = {
            "limit": self.config.history_page_limit,
            "group": group,
            "order": "time_close",
            "page": page,
            "account_id": account,
        }
        headers = {
            **self._headers,
            "Cookie": self.tokens.cookie(),
            "X-Request-Type": "Api-Request",
            "X-Request-Project": "bo",
            "X-Requested-With": "XMLHttpRequest",
        }
        try:
            response = await self._http().post(url, headers=headers, json=body)
        except httpx.HTTPError as error:
            raise Transient(f"deals history unreachable: {type(error).__name__}") from None
        if response.status_code == 429:
            retry = response.headers.get("retry-after", "")
            retry_s = (
                float(retry)
                if retry.replace(".", "", 1).isdigit()
                else self.config.rate_limit_retry_s
            )
            raise RateLimited(retry_s, "deals history rate limited")
        if response.status_code != 200:
            raise Transient(f"deals history answered HTTP {response.status_code}")
        try:
            return parse_history(response.json())
        except ValueError:
            raise Transient("deals history answered something that is not JSON") from None
