"""``moonlight dataset export`` and ``moonlight train``: clear errors, nothing written."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from moonlight.core.cli.app import cli


def test_export_from_storage_without_decisions_says_what_to_do(tmp_path: Path) -> None:
    out = tmp_path / "d.parquet"
    url = f"sqlite:///{(tmp_path / 'm.db').as_posix()}"
    result = CliRunner().invoke(cli, ["dataset", "export", "--storage", url, "--out", str(out)])
    assert result.exit_code == 1
    assert "no 'decisions' table" in result.output and "--candles" in result.output
    assert not out.exists()


def test_export_needs_exactly_one_source(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["dataset", "export", "--out", str(tmp_path / "d.parquet")])
    assert result.exit_code == 2 and "exactly one of" in result.output


def test_train_config_errors_are_listed_and_nothing_is_registered(tmp_path: Path) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text("name: x\nexpiry_s: 60\nembargo_s: 30\ncandles: c.csv\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["train", str(config)])
    assert result.exit_code == 1 and "shorter than expiry_s" in result.output
    assert not (tmp_path / "data").exists()
