"""The API token file: generated once, private to its owner, reused, never weak."""

from __future__ import annotations

import stat
import sys
from pathlib import Path

import pytest

from moonlight.server.token_file import TOKEN_FILE, ensure_api_token

posix_only = pytest.mark.skipif(
    sys.platform == "win32", reason="file modes are POSIX; Windows relies on the folder's ACL"
)


def test_generated_at_first_start_and_reused(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    first = ensure_api_token(data_dir)
    assert (data_dir / TOKEN_FILE).read_text(encoding="ascii").strip() == first
    assert len(first) >= 43  # 32 random bytes, URL-safe base64
    assert ensure_api_token(data_dir) == first
    assert ensure_api_token(tmp_path / "other") != first


@posix_only
def test_created_with_mode_0600(tmp_path: Path) -> None:
    ensure_api_token(tmp_path)
    assert stat.S_IMODE((tmp_path / TOKEN_FILE).stat().st_mode) == 0o600


@posix_only
def test_loose_permissions_are_tightened(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / TOKEN_FILE
    path.write_text("x" * 43 + "\n", encoding="ascii")
    path.chmod(0o644)
    assert ensure_api_token(tmp_path) == "x" * 43
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "0600" in caplog.text
    assert "x" * 43 not in caplog.text


def test_a_too_short_token_is_refused(tmp_path: Path) -> None:
    (tmp_path / TOKEN_FILE).write_text("short\n", encoding="ascii")
    with pytest.raises(ValueError, match="too short"):
        ensure_api_token(tmp_path)


def test_token_is_never_logged(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("DEBUG")
    token = ensure_api_token(tmp_path)
    assert "API token created" in caplog.text
    assert token not in caplog.text
