"""The console's REST client of a MoonLight server (``/api/v1``), with either credential.

Two ways in, both the server's own:

* the **API token** (``<data_dir>/api-token``), sent as ``Authorization: Bearer``;
* a **one-time login code** (the ``/login#<code>`` link the server prints at start),
  exchanged once for a session cookie. Cookie-authenticated changes need an ``Origin``
  header naming the server (its CSRF rule for browsers), so the client sends the
  server's own origin with them.

Every failure is an :class:`ApiError` with the HTTP status (0 when the server could not
be reached) and, for 422 answers, one :class:`~moonlight.console.models.FieldProblem`
per problem, so the views can show exactly what the server refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from moonlight.console import models

API_PREFIX = "/api/v1"
WS_PROTOCOL = "moonlight.v1"
WS_BEARER_PREFIX = "moonlight.bearer."
SESSION_COOKIE = "moonlight_session"
DEFAULT_TIMEOUT_S = 10.0

ModelT = TypeVar("ModelT", bound=BaseModel)


class ApiError(Exception):
    """A refused or failed API call: ``status`` 0 means the server was not reached."""

    def __init__(
        self, status: int, message: str, problems: tuple[models.FieldProblem, ...] = ()
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.problems = problems

    @property
    def unauthenticated(self) -> bool:
        return self.status == 401

    @property
    def unreachable(self) -> bool:
        return self.status == 0


def problems_of(detail: Any) -> tuple[models.FieldProblem, ...]:
    """FastAPI's 422 ``detail`` list as (dotted path, message) pairs.

    ``loc`` starts with where the value was (``body``, ``query``); the rest is the
    path, e.g. ``["body", "overrides", "risk.threshold"]`` → ``overrides.risk.threshold``.
    """
    if not isinstance(detail, list):
        return ()
    found = []
    for item in detail:
        if not isinstance(item, Mapping):
            continue
        location = [str(part) for part in item.get("loc", ())]
        if location and location[0] in ("body", "query", "path"):
            location = location[1:]
        found.append(
            models.FieldProblem(path=".".join(location), message=str(item.get("msg", "invalid")))
        )
    return tuple(found)


def error_of(response: httpx.Response) -> ApiError:
    """The :class:`ApiError` for a non-2xx answer."""
    try:
        payload = response.json()
    except ValueError:
        payload = None
    detail = payload.get("detail") if isinstance(payload, dict) else None
    problems = problems_of(detail)
    if problems:
        message = "; ".join(f"{p.path}: {p.message}" if p.path else p.message for p in problems)
    elif isinstance(detail, str):
        message = detail
    else:
        message = response.reason_phrase or f"HTTP {response.status_code}"
    return ApiError(response.status_code, message, problems)


def origin_of(base_url: str) -> str:
    """``http://host:port`` of a base URL (no path, no trailing slash)."""
    url = httpx.URL(base_url)
    if url.scheme not in ("http", "https") or not url.host:
        raise ValueError(f"not an http(s) server address: {base_url!r}")
    port = f":{url.port}" if url.port is not None else ""
    host = f"[{url.host}]" if ":" in url.host else url.host
    return f"{url.scheme}://{host}{port}"


class ApiClient:
    """Async client of one server; sign in with :meth:`use_token` or :meth:`redeem_code`."""

    def __init__(
        self,
        base_url: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
    ) -> None:
        self.base_url = origin_of(base_url)
        self._token: str | None = None
        self._http = httpx.AsyncClient(
            base_url=self.base_url + API_PREFIX, transport=transport, timeout=timeout_s
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    # ---------------------------------------------------------------- credentials

    def set_token(self, token: str) -> None:
        """Use the API token from now on (not checked: see :meth:`use_token`)."""
        self._token = token
        self._http.headers.pop("Origin", None)
        self._http.headers["Authorization"] = f"Bearer {token}"

    async def use_token(self, token: str) -> None:
        """Sign in with the API token; ApiError(401) when the server refuses it."""
        self.set_token(token)
        await self._request("GET", "/session")

    async def redeem_code(self, code: str) -> None:
        """Exchange a one-time login code for a session cookie (single use)."""
        self._token = None
        self._http.headers.pop("Authorization", None)
        self._http.headers["Origin"] = self.base_url
        await self._request("POST", "/session", json={"code": code})

    @property
    def ws_url(self) -> str:
        scheme, rest = self.base_url.split(":", 1)
        return ("wss" if scheme == "https" else "ws") + ":" + rest + API_PREFIX + "/ws"

    def ws_handshake(self) -> tuple[list[str], dict[str, str]]:
        """Sub-protocols and headers that authenticate the WebSocket like this client."""
        if self._token is not None:
            return [WS_PROTOCOL, WS_BEARER_PREFIX + self._token], {}
        cookie = self._http.cookies.get(SESSION_COOKIE)
        headers = {"Origin": self.base_url}
        if cookie is not None:
            headers["Cookie"] = f"{SESSION_COOKIE}={cookie}"
        return [WS_PROTOCOL], headers

    # ---------------------------------------------------------------- plumbing

    async def _request(
        self, method: str, path: str, *, params: Mapping[str, Any] | None = None, json: Any = None
    ) -> Any:
        try:
            response = await self._http.request(method, path, params=params, json=json)
        except httpx.HTTPError as error:
            raise ApiError(0, f"cannot reach {self.base_url}: {error}") from None
        if response.status_code >= 400:
            raise error_of(response)
        try:
            return response.json()
        except ValueError:
            raise ApiError(response.status_code, f"{path}: the answer is not JSON") from None

    async def _get(self, model: type[ModelT], path: str, **params: Any) -> ModelT:
        return parse(model, await self._request("GET", path, params=_present(params)))

    async def _list(self, model: type[ModelT], path: str, **params: Any) -> list[ModelT]:
        page = parse(models.Page, await self._request("GET", path, params=_present(params)))
        return [parse(model, item) for item in page.items]

    # ---------------------------------------------------------------- reads

    async def status(self) -> models.Status:
        return await self._get(models.Status, "/status")

    async def workers(self) -> list[models.Worker]:
        answer = await self._request("GET", "/workers")
        return [parse(models.Worker, item) for item in answer]

    async def orders(self, *, limit: int = 200, open_first: bool = True) -> list[models.Order]:
        """The newest orders, open ones first."""
        return await self._list(
            models.Order, "/orders", limit=limit, open_first=str(open_first).lower()
        )

    async def results(self, *, limit: int = 1000) -> list[models.Result]:
        """The newest results (newest first)."""
        return await self._list(models.Result, "/results", limit=limit)

    async def alarms(self, *, limit: int = 200) -> list[models.Alarm]:
        return await self._list(models.Alarm, "/alarms", limit=limit)

    async def calibration(self, *, bins: int = 10) -> models.Calibration:
        return await self._get(models.Calibration, "/calibration", bins=bins)

    async def config(self) -> dict[str, Any]:
        answer = await self._request("GET", "/config")
        config = answer.get("config") if isinstance(answer, dict) else None
        if not isinstance(config, dict):
            raise ApiError(200, "/config: no configuration in the answer")
        return config

    async def overrides(self) -> models.Overrides:
        return await self._get(models.Overrides, "/overrides")

    # ---------------------------------------------------------------- changes

    async def set_overrides(self, overrides: dict[str, Any], *, operator: str) -> models.Overrides:
        """Replace the runtime overrides; ApiError(422) lists every problem."""
        answer = await self._request(
            "PUT", "/overrides", json={"operator": operator, "overrides": overrides}
        )
        return parse(models.Overrides, answer)

    async def pause(self, labels: list[str], *, operator: str) -> models.WorkerChange:
        return await self._workers("pause", labels, operator)

    async def resume(self, labels: list[str], *, operator: str) -> models.WorkerChange:
        return await self._workers("resume", labels, operator)

    async def _workers(self, verb: str, labels: list[str], operator: str) -> models.WorkerChange:
        body = (
            {"labels": labels, "operator": operator}
            if labels
            else {"all": True, "operator": operator}
        )
        return parse(
            models.WorkerChange, await self._request("POST", f"/workers/{verb}", json=body)
        )

    async def engage_kill_switch(
        self, *, operator: str, reason: str, account_id: str | None = None
    ) -> models.KillSwitch:
        """Stop all trading (or one account's) now."""
        body = {"operator": operator, "reason": reason, "account_id": account_id}
        return self._kill_switch(await self._request("POST", "/kill-switch/engage", json=body))

    async def re_arm_kill_switch(
        self, *, operator: str, account_id: str | None = None
    ) -> models.KillSwitch:
        """Allow trading again (a person's name is required by the server)."""
        body = {"operator": operator, "account_id": account_id}
        return self._kill_switch(await self._request("POST", "/kill-switch/re-arm", json=body))

    @staticmethod
    def _kill_switch(answer: Any) -> models.KillSwitch:
        state = answer.get("kill_switch") if isinstance(answer, dict) else None
        return parse(models.KillSwitch, state)


def parse(model: type[ModelT], payload: Any) -> ModelT:
    """``payload`` as ``model``; an ApiError (not a crash) when the server's answer differs."""
    try:
        return model.model_validate(payload)
    except ValidationError as error:
        raise ApiError(200, f"unexpected answer for {model.__name__}: {error}") from None


def _present(params: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in params.items() if value is not None}
