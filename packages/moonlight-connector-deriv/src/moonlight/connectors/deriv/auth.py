"""Getting an authorised Deriv socket: legacy ``authorize`` or the new API's OTP URL.

* **Legacy v3**: connect to ``<ws_url>?app_id=<id>`` and send ``{"authorize": token}``;
  the reply says which login id the token opened and whether it is virtual (demo).
* **New API**: ``POST <rest_url>/trading/v1/options/accounts/{accountId}/otp`` with
  ``Authorization: Bearer <token>`` (plus ``Deriv-App-ID``) returns ``data.url``, a
  one-time WebSocket URL (``…/ws/demo?otp=…`` or ``…/ws/real?otp=…``, valid about 120 s,
  usable once). The socket is authenticated by that URL; no auth message is sent. Every
  reconnect asks for a fresh URL.

The OTP request uses the standard library (``urllib``, run in a worker thread) so the
connector needs no HTTP client dependency. It never follows redirects (a redirect could
lead off the allowlist) and ignores proxy settings unless the configuration asks.
"""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from typing import Any, Protocol
from urllib.parse import quote, urlsplit

from moonlight.core.connectors.contract import AuthFailed, RateLimited, Transient

OTP_PATH = "/trading/v1/options/accounts/{account_id}/otp"
MAX_BODY_BYTES = 1_000_000


class OtpSource(Protocol):
    """Something that issues one-time WebSocket URLs (the REST client, or a test double)."""

    async def fetch_url(self, token: str) -> str:
        """A fresh one-time trading WebSocket URL."""
        ...


class _RefuseRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class RestOtpSource:
    """The new API's OTP endpoint over HTTPS (see the module docstring)."""

    def __init__(
        self,
        rest_url: str,
        account_id: str,
        *,
        app_id: int | None,
        timeout_s: float,
        use_system_proxy: bool = False,
        default_retry_s: float = 5.0,
    ) -> None:
        self.url = rest_url.rstrip("/") + OTP_PATH.format(account_id=quote(account_id, safe=""))
        self._app_id = app_id
        self._timeout_s = timeout_s
        self._default_retry_s = default_retry_s
        handlers: list[urllib.request.BaseHandler] = [_RefuseRedirects()]
        if not use_system_proxy:
            handlers.append(urllib.request.ProxyHandler({}))
        self._opener = urllib.request.build_opener(*handlers)

    async def fetch_url(self, token: str) -> str:
        return await asyncio.to_thread(self._post, token)

    def _post(self, token: str) -> str:
        headers = {
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            "Accept": "application/json",
        }
        if self._app_id is not None:
            headers["Deriv-App-ID"] = str(self._app_id)
        request = urllib.request.Request(self.url, data=b"{}", method="POST", headers=headers)
        try:
            with self._opener.open(request, timeout=self._timeout_s) as response:
                body = response.read(MAX_BODY_BYTES)
        except urllib.error.HTTPError as error:
            raise self._http_error(error) from None
        except (urllib.error.URLError, OSError, TimeoutError) as error:
            raise Transient(f"deriv OTP request failed: {error}") from None
        return _otp_url(body)

    def _http_error(self, error: urllib.error.HTTPError) -> Exception:
        status = error.code
        detail = _error_text(error)
        if status in (401, 403):
            return AuthFailed(f"deriv OTP refused ({status}): {detail}")
        if status == 429:
            retry = error.headers.get("Retry-After") if error.headers else None
            try:
                retry_s = float(retry) if retry else self._default_retry_s
            except ValueError:
                retry_s = self._default_retry_s
            return RateLimited(retry_s, f"deriv OTP rate limited: {detail}")
        if 300 <= status < 400:
            return AuthFailed(f"deriv OTP endpoint answered a redirect ({status}); refused")
        return Transient(f"deriv OTP request failed ({status}): {detail}")


def _error_text(error: urllib.error.HTTPError) -> str:
    try:
        body = json.loads(error.read(MAX_BODY_BYTES) or b"{}")
        errors = body.get("errors") if isinstance(body, dict) else None
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            return f"{errors[0].get('code')}: {errors[0].get('message')}"
    except (ValueError, OSError):
        pass
    return str(error.reason)


def _otp_url(body: bytes) -> str:
    try:
        data = json.loads(body)
    except ValueError as error:
        raise Transient(f"deriv OTP reply is not JSON: {error}") from None
    url = data.get("data", {}).get("url") if isinstance(data, dict) else None
    if not isinstance(url, str) or not url:
        raise Transient("deriv OTP reply has no data.url")
    return url


def otp_account_kind(url: str) -> str | None:
    """``"demo"`` or ``"real"`` from a one-time URL's path (``…/ws/demo?otp=…``)."""
    path = urlsplit(url).path.rstrip("/")
    last = path.rsplit("/", 1)[-1]
    return last if last in ("demo", "real") else None
