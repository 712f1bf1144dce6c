"""Configuration of the Olymp Trade connector (``accounts[].connector_options``).

Secrets never appear here: the access and refresh tokens are *named*
(``access_token_secret_name``) and read from the OS keyring / environment through
``moonlight secrets``. Every URL is checked against ``allowed_hosts`` when the model is
validated, and again before any socket or HTTP request is opened
(:mod:`moonlight.connectors.olymp.safety`). A real-money account cannot be configured
without ``allow_real_account: true``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from moonlight.connectors.olymp.safety import DEFAULT_ALLOWED_HOSTS, ForbiddenEndpoint, check_url

_FROZEN = ConfigDict(frozen=True, extra="forbid")

Group = Literal["demo", "real"]

#: The 2025 web terminal's /otp URL (client build 2025.3.27106, desktop, Windows 10).
DEFAULT_WS_URL = (
    "wss://ws.olymptrade.com/otp?cid_ver=1"
    "&cid_app=web%40OlympTrade%402025.3.27106%4027106"
    "&cid_device=%40%40desktop&cid_os=windows%4010"
)
DEFAULT_API_URL = "https://api.olymptrade.com"
DEFAULT_RENEW_URL = "https://gw.olymptrade.com/api/token/renew/web/v1"
DEFAULT_USER_AGENT = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko)"
    " Chrome/139.0.0.0 Safari/537.36"
)

#: The e:98 subscription groups the 2025 web app sends at start-up (brief 4.2); trade
#: events 22 (deal opened) and 26 (deal closed) are in the second group.
WEB_APP_BOOTSTRAP_GROUPS: tuple[tuple[int, ...], ...] = (
    (220,),
    (110, 700, 112, 140, 1038, 1037, 1039, 141, 22, 26, 111),
    (1054, 1076, 1301, 1097),
    (141, 241),
    (230, 231),
    (75,),
    (1055,),
    (2223, 2301, 55, 150, 152, 151, 126, 602, 601),
    (2076,),
    (126,),
)

REAL_ACCOUNT_RISK = (
    "Allow orders on a REAL-MONEY Olymp Trade account. Olymp Trade has no official API:"
    " this connector speaks a reverse-engineered web protocol that is unverified for"
    " real-money use, and Olymp Trade's client agreement reportedly forbids robotic or"
    " automated trading without the client's direct participation — using it on a real"
    " account may breach that agreement and lead to a blocked account or lost funds."
    " Leave false (the default) to trade the demo account only."
)


class OlympAccount(BaseModel):
    """Which Olymp account a MoonLight account id trades: its broker id and group."""

    model_config = _FROZEN

    account_id: str | None = Field(
        default=None,
        description="Broker account id (as in the e:55 balance push); default: the first"
        " account of `group` the broker lists.",
    )
    group: Group = Field(
        default="demo", description="`demo` or `real`; must match what the broker reports."
    )


class OlympConfig(BaseModel):
    """Everything the Olymp connector needs except the tokens, which come from secrets."""

    model_config = _FROZEN

    ws_url: str = Field(
        default=DEFAULT_WS_URL, description="WebSocket URL of the web terminal (/otp)."
    )
    api_url: str = Field(
        default=DEFAULT_API_URL,
        description="Base URL of the HTTP API used for closed-deal history (reconciliation).",
    )
    renew_url: str = Field(
        default=DEFAULT_RENEW_URL,
        description="HTTP endpoint that renews the access token from the refresh token.",
    )
    allowed_hosts: list[str] = Field(
        default_factory=lambda: list(DEFAULT_ALLOWED_HOSTS),
        min_length=1,
        description="The only hosts the connector may contact; any other URL is refused.",
    )
    access_token_secret_name: str = Field(
        default="olymp_access_token",
        description="Name of the secret holding the `access_token` cookie value.",
    )
    refresh_token_secret_name: str | None = Field(
        default="olymp_refresh_token",
        description="Name of the secret holding the `refresh_token` cookie (optional; used"
        " once to renew a rejected access token).",
    )
    allow_real_account: bool = Field(default=False, description=REAL_ACCOUNT_RISK)
    default_group: Group = Field(
        default="demo",
        description="Group of the broker account used for MoonLight accounts not listed in"
        " `accounts`.",
    )
    accounts: dict[str, OlympAccount] = Field(
        default_factory=dict,
        description="MoonLight account id → Olymp account (broker id and demo/real group).",
    )
    currency: str = Field(
        default="USD",
        pattern=r"^[A-Z]{3,5}$",
        description="Account currency when the balance push does not say.",
    )
    durations_s: list[int] = Field(
        default_factory=lambda: [60, 120, 180, 240, 300, 600, 900, 1800, 3600],
        min_length=1,
        description="Contract durations offered (filtered by each asset's min/max duration).",
    )
    origin: str = Field(
        default="https://olymptrade.com", description="Origin header sent on the upgrade."
    )
    user_agent: str = Field(
        default=DEFAULT_USER_AGENT, description="User-Agent header sent on the upgrade."
    )
    bootstrap_groups: list[list[int]] = Field(
        default_factory=lambda: [list(g) for g in WEB_APP_BOOTSTRAP_GROUPS],
        min_length=1,
        description="e:98 event-stream groups subscribed after every (re)connect.",
    )
    connect_timeout_s: float = Field(
        default=20.0, gt=0, description="connect() gives up after this long."
    )
    ready_timeout_s: float = Field(
        default=10.0, gt=0, description="A call waits this long for the session to be ready."
    )
    request_timeout_s: float = Field(
        default=5.0, gt=0, description="Reply timeout of a query (ping, candles, payouts...)."
    )
    order_timeout_s: float = Field(
        default=10.0,
        gt=0,
        description="Reply timeout of an e:23 deal request; past it the order is ambiguous.",
    )
    ping_interval_s: float = Field(default=25.0, gt=0, description="e:90 keepalive interval.")
    deal_interval_s: float = Field(
        default=1.5,
        ge=0,
        description="Minimum pause between two deal openings (below 1 s the server has been"
        " seen to reject bursts).",
    )
    subscribe_interval_s: float = Field(
        default=0.2,
        ge=0,
        description="Minimum pause between subscription requests (e:98, e:12, e:13).",
    )
    reconnect_base_s: float = Field(default=1.0, gt=0, description="First reconnect delay.")
    reconnect_cap_s: float = Field(default=60.0, gt=0, description="Longest reconnect delay.")
    reconnect_jitter: float = Field(
        default=0.5, ge=0, le=1, description="Fraction of a reconnect delay removed at random."
    )
    stable_after_s: float = Field(
        default=30.0,
        ge=0,
        description="A connection that lived this long resets the reconnect backoff.",
    )
    max_reconnect_attempts: int | None = Field(
        default=None,
        ge=1,
        description="Give up (state failed) after this many failed reconnects; none: never.",
    )
    rate_limit_retry_s: float = Field(
        default=5.0, gt=0, description="Retry-After assumed when a rate-limit error has none."
    )
    match_window_s: float = Field(
        default=120.0,
        gt=0,
        description="Reconciliation: a broker deal matches an order opened up to this long"
        " after the decision.",
    )
    clock_margin_s: float = Field(
        default=5.0, ge=0, description="Tolerance between the local and the server clock."
    )
    resolve_interval_s: float = Field(
        default=5.0, gt=0, description="How often closed deals without a result are re-checked."
    )
    close_grace_s: float = Field(
        default=1.0,
        ge=0,
        description="After a bar's end, wait this long for late ticks before emitting it.",
    )
    history_page_limit: int = Field(
        default=50, ge=1, le=500, description="Closed deals fetched per history page."
    )
    candle_max_pages: int = Field(
        default=20, ge=1, le=1000, description="Most e:10 batches fetched for one candles() call."
    )

    @model_validator(mode="after")
    def _safe(self) -> OlympConfig:
        """Every problem at once: unlisted hosts, real accounts without consent, backoff."""
        hosts = [h.lower() for h in self.allowed_hosts]
        problems: list[str] = []
        for purpose, url, scheme in (
            ("ws_url", self.ws_url, "wss"),
            ("api_url", self.api_url, "https"),
            ("renew_url", self.renew_url, "https"),
        ):
            try:
                check_url(url, hosts, purpose=purpose, schemes=(scheme,))
            except ForbiddenEndpoint as error:
                problems.append(str(error))
        if not self.allow_real_account:
            if self.default_group == "real":
                problems.append("default_group 'real' needs allow_real_account: true")
            problems.extend(
                f"accounts.{name} is a real-money account; set allow_real_account: true only"
                " after reading its description"
                for name, account in self.accounts.items()
                if account.group == "real"
            )
        if self.reconnect_cap_s < self.reconnect_base_s:
            problems.append("reconnect_cap_s must be >= reconnect_base_s")
        if problems:
            raise ValueError("; ".join(problems))
        return self
