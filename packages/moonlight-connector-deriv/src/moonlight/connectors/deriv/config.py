"""Configuration of the Deriv connector (``accounts[].connector_options``).

One connector instance trades one Deriv account. The API token is never configured
here: ``api_token_secret_name`` names the secret (``moonlight secrets set NAME``), which
is read at each (re)connect. Every URL is checked against ``allowed_hosts`` when the
model is validated and again before any socket is opened. The account is a demo
(virtual) account unless ``account_type: real`` *and* ``allow_real_account: true``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from moonlight.connectors.deriv.endpoints import DEFAULT_ALLOWED_HOSTS, check_url

_FROZEN = ConfigDict(frozen=True, extra="forbid")

LEGACY_WS_URL = "wss://ws.derivws.com/websockets/v3"
NEW_API_REST_URL = "https://api.derivws.com"

#: Candle sizes the legacy ``ticks_history`` accepts (the new API accepts any integer).
LEGACY_GRANULARITIES_S: tuple[int, ...] = (
    60,
    120,
    180,
    300,
    600,
    900,
    1800,
    3600,
    7200,
    14400,
    28800,
    86400,
)

REAL_ACCOUNT_RISK = (
    "Allow orders on a REAL-MONEY Deriv account. Deriv documents and permits API trading,"
    " but every order then risks real funds: run the strategy on the demo account first."
    " Without this flag a real account is refused before any order is sent."
)


class DerivRateLimits(BaseModel):
    """Client-side call budgets (Deriv's documented WebSocket limits, new API table).

    Calls in one class share a per-minute and a per-hour budget; ``ping`` is outside
    them (its own per-second budget).
    """

    model_config = _FROZEN

    trading_per_min: int = Field(
        default=360, ge=1, description="proposal, proposal_open_contract, buy, sell per minute."
    )
    trading_per_hour: int = Field(default=14_400, ge=1, description="Same calls per hour.")
    balance_per_min: int = Field(default=100, ge=1, description="balance, statement per minute.")
    balance_per_hour: int = Field(default=2_000, ge=1, description="Same calls per hour.")
    reports_per_min: int = Field(
        default=30, ge=1, description="portfolio, profit_table per minute."
    )
    reports_per_hour: int = Field(default=1_500, ge=1, description="Same calls per hour.")
    general_per_min: int = Field(default=220, ge=1, description="Every other call per minute.")
    general_per_hour: int = Field(default=14_400, ge=1, description="Every other call per hour.")
    ping_per_s: int = Field(default=10, ge=1, description="ping calls per second.")


class DerivConfig(BaseModel):
    """Everything the Deriv connector needs except the token, which comes from secrets."""

    model_config = _FROZEN

    api: Literal["legacy", "new"] = Field(
        default="legacy",
        description="`legacy`: WebSocket API v3 with `authorize` by API token; `new`: the"
        " options API, whose trading socket is a one-time URL from the OTP endpoint.",
    )
    ws_url: str = Field(
        default=LEGACY_WS_URL,
        description="Legacy WebSocket endpoint (app_id is appended). Unused by the new API.",
    )
    rest_url: str = Field(
        default=NEW_API_REST_URL,
        description="New API REST base (the OTP endpoint lives under it).",
    )
    app_id: int | None = Field(
        default=None,
        ge=1,
        description="Deriv application id: query parameter of the legacy socket (required"
        " there); `Deriv-App-ID` header of the new API (needed with a personal token).",
    )
    deriv_account_id: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9_-]{1,64}$",
        description="New API: the options account the OTP is requested for.",
    )
    allowed_hosts: list[str] = Field(
        default_factory=lambda: list(DEFAULT_ALLOWED_HOSTS),
        min_length=1,
        description="The only hosts the connector may contact; any other URL is refused.",
    )
    api_token_secret_name: str = Field(
        default="deriv_api_token",
        description="Name of the secret holding the API token (legacy) or the personal /"
        " OAuth access token (new API).",
    )
    account_type: Literal["demo", "real"] = Field(
        default="demo",
        description="The kind of account this connector must be connected to; orders on"
        " any other kind are refused (demo/real mix-ups are caught before sending).",
    )
    allow_real_account: bool = Field(default=False, description=REAL_ACCOUNT_RISK)
    currency: str = Field(
        default="USD", pattern=r"^[A-Za-z0-9]{2,20}$", description="Account currency."
    )
    symbols: list[str] = Field(
        default_factory=lambda: ["R_100"],
        min_length=1,
        description="Deriv symbols offered as instruments (e.g. R_100, frxEURUSD).",
    )
    durations_s: list[int] = Field(
        default_factory=lambda: [15, 30, 60, 120, 180, 300, 600, 900, 1800, 3600],
        min_length=1,
        description="Contract durations offered (filtered by each symbol's contracts_for).",
    )
    allow_equal: bool = Field(
        default=False,
        description="Trade CALLE/PUTE (a tie wins) instead of CALL/PUT (a tie loses).",
    )
    max_price_slippage_pct: float = Field(
        default=0.0,
        ge=0,
        le=10,
        allow_inf_nan=False,
        description="buy's maximum price above the proposal's ask price, percent.",
    )
    price_moved_slippage_pct: float = Field(
        default=1.0,
        ge=0,
        le=10,
        allow_inf_nan=False,
        description="After a buy refused with PriceMoved the order is priced once more and"
        " bought only if the new quote is within this percentage of the first (payout not"
        " lower, ask price not higher, by more); otherwise it is rejected with reason"
        " `price_moved`. 0: buy again only at an unchanged or better price.",
    )
    history_page_size: int = Field(
        default=100,
        ge=1,
        le=500,
        description="Rows per profit_table page when looking for a contract (Deriv allows"
        " up to 500); a lookup reads every page since the order's decision.",
    )
    quote_stake: float = Field(
        default=10.0, gt=0, description="Stake of the proposal that quotes an instrument's payout."
    )
    instrument_cache_s: float = Field(
        default=60.0, ge=0, description="How long instruments() reuses its last answer."
    )
    connect_timeout_s: float = Field(
        default=20.0, gt=0, description="connect() gives up after this long."
    )
    request_timeout_s: float = Field(default=10.0, gt=0, description="Reply timeout of a query.")
    buy_timeout_s: float = Field(
        default=10.0, gt=0, description="Reply timeout of buy; past it the order is ambiguous."
    )
    ping_interval_s: float = Field(default=30.0, gt=0, description="Interval of {ping: 1}.")
    ping_timeout_s: float = Field(
        default=10.0, gt=0, description="A ping without pong this long drops the connection."
    )
    reconnect_base_s: float = Field(default=1.0, gt=0, description="First reconnect delay.")
    reconnect_cap_s: float = Field(default=30.0, gt=0, description="Longest reconnect delay.")
    reconnect_jitter: float = Field(
        default=0.5, ge=0, le=1, description="Fraction of a reconnect delay removed at random."
    )
    stable_after_s: float = Field(
        default=20.0,
        ge=0,
        description="A connection that lived this long resets the reconnect backoff.",
    )
    rate_limits: DerivRateLimits = Field(
        default_factory=DerivRateLimits, description="Client-side call budgets."
    )
    rate_wait_s: float = Field(
        default=2.0,
        ge=0,
        description="A call waits this long at most for its budget; beyond, RateLimited.",
    )
    rate_limit_retry_s: float = Field(
        default=5.0,
        gt=0,
        description="Retry-After assumed when the server answers RateLimit (it gives none).",
    )
    match_window_s: float = Field(
        default=120.0,
        gt=0,
        description="Reconciliation: a contract matches an order bought up to this long"
        " after its decision.",
    )
    clock_margin_s: float = Field(
        default=5.0, ge=0, description="Tolerance between the local and the server clock."
    )
    settle_check_s: float = Field(
        default=5.0,
        gt=0,
        description="A watched contract still without its result this long after expiry"
        " is looked up (a lost settlement push is recovered this way).",
    )
    use_system_proxy: bool = Field(
        default=False, description="Connect through the proxy of the environment, if any."
    )

    @model_validator(mode="after")
    def _safe(self) -> DerivConfig:
        if self.api == "legacy":
            check_url(self.ws_url, self.allowed_hosts, purpose="ws_url", kind="ws")
            if self.app_id is None:
                raise ValueError("the legacy API needs app_id (register one at api.deriv.com)")
        else:
            check_url(self.rest_url, self.allowed_hosts, purpose="rest_url", kind="http")
            if self.deriv_account_id is None:
                raise ValueError("the new API needs deriv_account_id (the options account)")
        if self.account_type == "real" and not self.allow_real_account:
            raise ValueError(
                "account_type 'real' needs allow_real_account: true (read its description)"
            )
        if self.reconnect_cap_s < self.reconnect_base_s:
            raise ValueError("reconnect_cap_s must be >= reconnect_base_s")
        if any(d <= 0 for d in self.durations_s):
            raise ValueError("durations_s must be positive")
        return self

    @property
    def symbol_key(self) -> str:
        """Field that names the underlying in requests (``symbol`` / ``underlying_symbol``)."""
        return "symbol" if self.api == "legacy" else "underlying_symbol"

    @property
    def trades_real_money(self) -> bool:
        """True when this configuration may place real-money orders."""
        return self.account_type == "real" and self.allow_real_account
