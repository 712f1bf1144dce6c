"""Finding newer versions: a simple index over HTTP (HTML and JSON forms, served on
127.0.0.1 by a stricter-than-PyPI test server) and a local wheel directory."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st
from packaging.version import Version

from moonlight.core.update.errors import UpdateError
from moonlight.core.update.index import Source, newer, versions

FILES = {
    "moonlight-core": [
        ("moonlight_core-0.1.0-py3-none-any.whl", False),
        ("moonlight_core-0.2.0-py3-none-any.whl", False),
        ("moonlight_core-0.3.0-py3-none-any.whl", True),  # yanked
        ("moonlight_core-0.4.0rc1-py3-none-any.whl", False),
        ("moonlight-core-0.2.0.tar.gz", False),
        ("not-a-distribution.txt", False),
    ],
}


class _Index(BaseHTTPRequestHandler):
    """PEP 503 / PEP 691: JSON when asked for it, else HTML; 404 for unknown names;
    only canonical names with the trailing slash are served (as PyPI redirects)."""

    json_capable = True

    def do_GET(self) -> None:  # http.server names it
        name = self.path.strip("/").split("/")[-1]
        if not self.path.endswith("/") or name not in FILES:
            self.send_error(404)
            return
        files = FILES[name]
        wants_json = "application/vnd.pypi.simple.v1+json" in self.headers.get("Accept", "")
        if self.json_capable and wants_json:
            body = json.dumps(
                {"meta": {"api-version": "1.0"}, "name": name,
                 "files": [{"filename": f, "url": f, "hashes": {}, "yanked": y} for f, y in files]}
            ).encode()  # fmt: skip
            kind = "application/vnd.pypi.simple.v1+json"
        else:
            links = "".join(
                f'<a href="../../f/{f}"{" data-yanked=" if y else ""}>{f}</a><br/>'
                for f, y in files
            )
            body = f"<!DOCTYPE html><html><body>{links}</body></html>".encode()
            kind = "text/html"
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: object) -> None:
        return


@pytest.fixture(params=["json", "html"])
def index_url(request: pytest.FixtureRequest) -> Iterator[str]:
    # "html": an older index that answers HTML whatever the Accept header asks for
    handler = type("Handler", (_Index,), {"json_capable": request.param == "json"})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/simple"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


def test_index_versions_skip_yanked_and_parse_both_forms(index_url: str) -> None:
    found = versions(Source(index_url), "Moonlight_Core")
    assert found == [Version("0.1.0"), Version("0.2.0"), Version("0.4.0rc1")]


def test_newer_ignores_prereleases_unless_asked(index_url: str) -> None:
    source = Source(index_url)
    installed = {"moonlight-core": "0.1.0", "moonlight-private-plugin": "1.0"}
    stable = newer(source, installed, prereleases=False)
    assert [(c.name, c.installed, c.latest) for c in stable] == [
        ("moonlight-core", "0.1.0", "0.2.0")
    ]
    assert newer(source, installed, prereleases=True)[0].latest == "0.4.0rc1"
    assert newer(source, {"moonlight-core": "0.2.0"}, prereleases=False) == []


def test_unreachable_index_is_a_clear_error() -> None:
    with pytest.raises(UpdateError, match=r"127\.0\.0\.1:9"):
        versions(Source("http://127.0.0.1:9/simple"), "moonlight-core")


def test_missing_wheel_directory_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(UpdateError, match="not a directory"):
        versions(Source("", tmp_path / "nowhere"), "moonlight-core")


@settings(max_examples=60, deadline=None)  # file creation: no per-example time limit
@given(
    st.lists(
        st.tuples(st.integers(0, 30), st.integers(0, 30), st.integers(0, 30)),
        min_size=1,
        max_size=12,
    )
)
def test_wheel_directory_versions_are_every_file_sorted(
    tmp_path_factory: pytest.TempPathFactory, numbers: list[tuple[int, int, int]]
) -> None:
    directory = tmp_path_factory.mktemp("wheels")
    for major, minor, patch in numbers:
        (directory / f"moonlight_core-{major}.{minor}.{patch}-py3-none-any.whl").touch()
        (directory / f"moonlight_other-{major + 1}.0-py3-none-any.whl").touch()
    expected = sorted({Version(f"{a}.{b}.{c}") for a, b, c in numbers})
    assert versions(Source("", directory), "moonlight-core") == expected
