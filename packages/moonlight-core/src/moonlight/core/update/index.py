"""Which versions of a distribution a package source offers.

A source is either a simple-API index (PEP 503 HTML or PEP 691 JSON, PyPI's
``https://pypi.org/simple`` by default, any mirror or private index alike) or a local
directory of wheels and source archives. Versions come from the file names (PEP 427
wheel names, sdist names); yanked files are skipped.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from moonlight.core.update.errors import UpdateError

TIMEOUT_S = 30.0
_JSON = "application/vnd.pypi.simple.v1+json"


@dataclass(frozen=True, slots=True)
class Source:
    """Where packages come from: a local wheel directory if set, else the index."""

    index_url: str
    find_links: Path | None = None

    def describe(self) -> str:
        return str(self.find_links) if self.find_links is not None else self.index_url


@dataclass(frozen=True, slots=True)
class Candidate:
    """A newer version of an installed distribution."""

    name: str
    installed: str
    latest: str


def versions(source: Source, name: str) -> list[Version]:
    """Every version of ``name`` the source offers, ascending."""
    files = _local_files(source.find_links) if source.find_links else _index_files(source, name)
    wanted = canonicalize_name(name)
    found = {v for file in files for n, v in [_name_version(file)] if n == wanted and v}
    return sorted(found)


def newer(source: Source, installed: dict[str, str], *, prereleases: bool) -> list[Candidate]:
    """The installed distributions the source has a newer version of."""
    result = []
    for name, current in installed.items():
        offered = [v for v in versions(source, name) if prereleases or not v.is_prerelease]
        if offered and offered[-1] > Version(current):
            result.append(Candidate(name, current, str(offered[-1])))
    return result


def _name_version(filename: str) -> tuple[str, Version | None]:
    try:
        if filename.endswith(".whl"):
            name, version, _, _ = parse_wheel_filename(filename)
            return name, version
        if filename.endswith((".tar.gz", ".zip")):
            name, version = parse_sdist_filename(filename)
            return name, version
    except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion):
        pass
    return "", None


def _local_files(directory: Path) -> list[str]:
    if not directory.is_dir():
        raise UpdateError(f"update.find_links {directory} is not a directory")
    return [path.name for path in directory.iterdir() if path.is_file()]


def _index_files(source: Source, name: str) -> list[str]:
    url = f"{source.index_url.rstrip('/')}/{canonicalize_name(name)}/"
    request = urllib.request.Request(url, headers={"Accept": f"{_JSON}, text/html;q=0.5"})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
            body = response.read()
            kind = response.headers.get("Content-Type", "")
    except urllib.error.HTTPError as error:
        if error.code == 404:  # the index does not have it (a private plugin)
            return []
        raise UpdateError(f"{url}: HTTP {error.code}") from None
    except (urllib.error.URLError, OSError) as error:
        raise UpdateError(f"{url}: {getattr(error, 'reason', error)}") from None
    if kind.startswith(_JSON):
        files = json.loads(body).get("files", [])
        return [f["filename"] for f in files if not f.get("yanked")]
    return _AnchorText.parse(body.decode("utf-8", "replace"))


class _AnchorText(HTMLParser):
    """File names of a PEP 503 page: the text of each ``<a>`` not marked yanked."""

    def __init__(self) -> None:
        super().__init__()
        self.names: list[str] = []
        self._inside = False
        self._yanked = False

    @classmethod
    def parse(cls, page: str) -> list[str]:
        parser = cls()
        parser.feed(page)
        return parser.names

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self._inside = True
            self._yanked = any(key == "data-yanked" for key, _ in attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a":
            self._inside = False

    def handle_data(self, data: str) -> None:
        if self._inside and not self._yanked and re.search(r"\.(whl|tar\.gz|zip)$", data.strip()):
            self.names.append(data.strip())
