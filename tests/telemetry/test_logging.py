"""Log setup: JSON lines, levels, rotation, idempotence and teardown."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path

import pytest

from moonlight.core.config.models import TelemetryConfig
from moonlight.core.telemetry import logging_setup
from moonlight.core.telemetry.logging_setup import LoggingSetup, parse_level


def _flush(setup: LoggingSetup) -> None:
    setup.file_handler.flush()
    if setup.console_handler is not None:
        setup.console_handler.flush()


def _lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_every_record_is_one_json_object_per_line(logs: LoggingSetup) -> None:
    log = logging.getLogger("moonlight.tests.json")
    log.debug("debug %d", 1)
    log.info("info with\na newline", extra={"account_id": "x1", "stake": 10.5})
    log.warning("careful")
    log.error("broken")
    try:
        raise RuntimeError("kaput")
    except RuntimeError:
        log.exception("caught")
    _flush(logs)

    assert logs.log_path.name == "moonlight.log"
    assert logs.log_path.parent.name == "logs"
    entries = _lines(logs.log_path)
    assert [e["level"] for e in entries] == ["DEBUG", "INFO", "WARN", "ERROR", "ERROR"]
    assert entries[0]["msg"] == "debug 1"
    assert entries[1]["msg"] == "info with\na newline"
    assert entries[1]["stake"] == 10.5
    assert entries[1]["logger"] == "moonlight.tests.json"
    assert str(entries[1]["ts"]).endswith("+00:00")
    assert "RuntimeError: kaput" in str(entries[4]["exc"])
    assert "Traceback" in str(entries[4]["exc"])


def test_level_threshold_and_warn_alias(tmp_path: Path) -> None:
    settings = TelemetryConfig(log_level="WARN")
    setup = logging_setup.configure_logging(tmp_path, settings, console=False)
    try:
        log = logging.getLogger("moonlight.tests.level")
        log.info("not written")
        log.warning("written")
        _flush(setup)
        assert [e["msg"] for e in _lines(setup.log_path)] == ["written"]
        assert setup.level == logging.WARNING
    finally:
        logging_setup.teardown_logging()


def test_parse_level_accepts_seed_names_and_rejects_others() -> None:
    assert parse_level("WARN") == parse_level("warning") == logging.WARNING
    assert parse_level("DEBUG") == logging.DEBUG
    assert parse_level(logging.ERROR) == logging.ERROR
    with pytest.raises(ValueError, match="unknown log level"):
        parse_level("LOUD")


def test_rotation_keeps_the_configured_number_of_files(tmp_path: Path) -> None:
    settings = TelemetryConfig(log_backups=2)
    setup = logging_setup.configure_logging(tmp_path, settings, console=False, max_bytes=600)
    try:
        log = logging.getLogger("moonlight.tests.rotation")
        for index in range(60):
            log.info("line %03d %s", index, "x" * 40)
        _flush(setup)
    finally:
        logging_setup.teardown_logging()

    log_dir = tmp_path / "logs"
    files = sorted(p.name for p in log_dir.iterdir())
    assert files == ["moonlight.log", "moonlight.log.1", "moonlight.log.2"]
    for name in files:
        path = log_dir / name
        assert path.stat().st_size <= 600
        assert _lines(path)  # every rotated file is still whole JSON lines
    newest = _lines(log_dir / "moonlight.log")
    assert str(newest[-1]["msg"]).startswith("line 059")


def test_configuring_twice_replaces_handlers(tmp_path: Path, console: io.StringIO) -> None:
    root = logging.getLogger()
    before = list(root.handlers)
    try:
        logging_setup.configure_logging(tmp_path / "a", console_stream=console)
        second = logging_setup.configure_logging(tmp_path / "b", console_stream=console)
        ours = [h for h in root.handlers if h not in before]
        assert len(ours) == 2
        logging.getLogger("moonlight.tests.twice").warning("once")
        _flush(second)
        assert console.getvalue().count("once") == 1
        assert len(_lines(tmp_path / "b" / "logs" / "moonlight.log")) == 1
        assert (tmp_path / "a" / "logs" / "moonlight.log").read_text(encoding="utf-8") == ""
    finally:
        logging_setup.teardown_logging()
    assert root.handlers == before


def test_teardown_restores_root_level_and_record_factory(tmp_path: Path) -> None:
    root = logging.getLogger()
    level_before = root.level
    factory_before = logging.getLogRecordFactory()
    logging_setup.configure_logging(tmp_path, level="DEBUG", console=False)
    assert logging.getLogRecordFactory() is not factory_before
    logging_setup.teardown_logging()
    assert root.level == level_before
    assert logging.getLogRecordFactory() is factory_before
    assert logging_setup.current_setup() is None


def test_console_line_is_short_and_human(logs: LoggingSetup, console: io.StringIO) -> None:
    logging.getLogger("moonlight.tests.console").warning("bar lag %d ms", 250)
    _flush(logs)
    line = console.getvalue().strip()
    assert line.endswith("WARN  moonlight.tests.console: bar lag 250 ms")
    assert not line.startswith("{")


def test_configure_from_config_uses_data_dir_and_telemetry_settings(tmp_path: Path) -> None:
    from moonlight.core.config import MoonlightConfig

    config = MoonlightConfig.model_validate(
        {"data_dir": str(tmp_path / "engine"), "telemetry": {"log_level": "ERROR"}}
    )
    setup = logging_setup.configure_from_config(config, console=False)
    try:
        assert setup.log_path == tmp_path / "engine" / "logs" / "moonlight.log"
        assert setup.level == logging.ERROR
        assert setup.file_handler.maxBytes == 10 * 1024 * 1024
        assert setup.file_handler.backupCount == 7
        assert logging_setup.current_setup() is setup
    finally:
        logging_setup.teardown_logging()
