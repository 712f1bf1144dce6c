"""Sign-in text (login link or token) and the token kept in the OS keyring."""

from __future__ import annotations

import keyring.errors
import pytest
from keyrings.alt.file import PlaintextKeyring

from moonlight.console.signin import (
    KEYRING_SERVICE,
    SignIn,
    SignInError,
    TokenKeyring,
    parse_server,
    parse_sign_in,
)

CODE = "YZKkG386ApTTA8xryFfYZ6q0PpZ_V7Gg"
TOKEN = "kP1x-3mZ0fQ_9aBcDeFgHiJkLmNoPqRsTuVwXyZ0123"


def test_a_login_link_names_its_server_and_code() -> None:
    assert parse_sign_in(f"  http://127.0.0.1:9000/login#{CODE}\n", "http://ignored:1") == SignIn(
        server="http://127.0.0.1:9000", code=CODE
    )
    assert parse_sign_in(f"https://[::1]/login/#{CODE}").server == "https://[::1]"


def test_a_token_goes_to_the_given_server() -> None:
    assert parse_sign_in(TOKEN, "http://localhost:8765/") == SignIn(
        server="http://localhost:8765", token=TOKEN
    )


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "http://127.0.0.1:8765/login",
        "http://127.0.0.1:8765/#" + CODE,
        "http://127.0.0.1:8765/login#bad code!",
        "two words",
        "short",
        "ftp://127.0.0.1/login#" + CODE,
    ],
)
def test_what_is_neither_is_refused_with_a_reason(text: str) -> None:
    with pytest.raises(SignInError) as refused:
        parse_sign_in(text)
    assert str(refused.value)


def test_server_addresses() -> None:
    assert parse_server("http://127.0.0.1:8765/anything") == "http://127.0.0.1:8765"
    with pytest.raises(SignInError, match="not an http"):
        parse_server("127.0.0.1:8765")


def test_keyring_remembers_per_server(tmp_path) -> None:
    backend = PlaintextKeyring()
    backend.file_path = str(tmp_path / "keyring.cfg")
    tokens = TokenKeyring(backend)
    assert tokens.load("http://127.0.0.1:8765") is None
    assert tokens.save("http://127.0.0.1:8765/", TOKEN) is None
    assert tokens.load("http://127.0.0.1:8765") == TOKEN
    assert tokens.load("http://127.0.0.1:9000") is None
    assert backend.get_password(KEYRING_SERVICE, "http://127.0.0.1:8765") == TOKEN
    tokens.forget("http://127.0.0.1:8765")
    tokens.forget("http://127.0.0.1:8765")  # twice: nothing to forget, no error
    assert tokens.load("http://127.0.0.1:8765") is None


class NoKeyring:
    """A machine without a keyring backend (headless Linux without Secret Service)."""

    def get_password(self, *args: str) -> str:
        raise keyring.errors.NoKeyringError("no backend")

    set_password = delete_password = get_password


def test_without_a_keyring_it_says_so_instead_of_failing() -> None:
    tokens = TokenKeyring(NoKeyring())
    assert tokens.load("http://127.0.0.1:8765") is None
    assert "not available" in (tokens.save("http://127.0.0.1:8765", TOKEN) or "")
    tokens.forget("http://127.0.0.1:8765")
