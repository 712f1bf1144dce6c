"""The ``update`` section of the configuration: where updates come from and how the
service is stopped and started around a switch. Opt-in: nothing happens until an
operator runs ``moonlight update apply`` or enables the schedule."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class ServiceCommands(BaseModel):
    """Commands that stop and start the supervised engine (argument lists, no shell)."""

    model_config = ConfigDict(extra="forbid")
    stop: list[str] = Field(
        default_factory=list,
        description="Stops the service and returns once it has stopped, e.g."
        " [systemctl, stop, moonlight] or [nssm, stop, MoonLight].",
    )
    start: list[str] = Field(
        default_factory=list,
        description="Starts the service, e.g. [systemctl, start, moonlight].",
    )


class UpdateSchedule(BaseModel):
    """Unattended updates (`moonlight update apply --scheduled`, run by a timer)."""

    model_config = ConfigDict(extra="forbid")
    enabled: bool = Field(default=False, description="Apply updates unattended (opt-in).")
    every_h: float = Field(
        default=24.0, ge=1.0, le=744.0, description="Hours between two scheduled attempts."
    )


class UpdateConfig(BaseModel):
    """Side-by-side updates: a new environment is prepared and checked before the switch."""

    model_config = ConfigDict(extra="forbid")
    root: Path | None = Field(
        default=None,
        description="Install root holding versions/, the current link, backups/ and the"
        " update state; required by `moonlight update apply|rollback`.",
    )
    index_url: str = Field(
        default="https://pypi.org/simple",
        description="Simple-API package index the new versions come from.",
    )
    find_links: Path | None = Field(
        default=None,
        description="A local directory of wheels to use instead of the index (offline).",
    )
    installer: Literal["pip", "uv"] = Field(
        default="pip", description="Builds the new environment: pip (in it) or uv."
    )
    include: list[str] = Field(
        default_factory=list,
        description="More distributions to keep up to date besides the MoonLight ones found.",
    )
    allow_prereleases: bool = Field(default=False, description="Consider pre-releases.")
    flat_timeout_s: float = Field(
        default=900.0,
        gt=0,
        le=86400.0,
        description="How long to wait, trading paused, for every open order to settle"
        " before the update is deferred.",
    )
    health_timeout_s: float = Field(
        default=180.0,
        gt=0,
        le=3600.0,
        description="How long the new version has to answer GET /health after its start"
        " before it is rolled back.",
    )
    keep_versions: int = Field(
        default=2, ge=2, le=20, description="Installed versions kept (current + previous...)."
    )
    service: ServiceCommands = Field(
        default_factory=ServiceCommands, description="How to stop and start the service."
    )
    schedule: UpdateSchedule = Field(
        default_factory=UpdateSchedule, description="Opt-in unattended updates."
    )
