"""Developer task runner: ``nox -s tests|lint|typecheck|bench|docs|soak|bundle``.

Every session reuses the locked workspace environment made by ``python3 dev.py setup``
(``.venv``), so nox never resolves dependencies on its own: what runs here is exactly
what CI runs.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import nox

ROOT = Path(__file__).parent
BIN = ROOT / ".venv" / ("Scripts" if sys.platform == "win32" else "bin")
nox.options.default_venv_backend = "none"
nox.options.sessions = ["lint", "typecheck", "tests"]


def _setup(session: nox.Session) -> None:
    session.run(sys.executable, "dev.py", "setup", external=True)


@nox.session
def tests(session: nox.Session) -> None:
    """The whole test suite (what `python3 dev.py test` runs)."""
    _setup(session)
    session.run(str(BIN / "python"), "-m", "pytest", *session.posargs, external=True)


SOURCES = sorted(
    [*ROOT.glob("packages/*/src"), *ROOT.glob("apps/*/src")], key=lambda path: path.as_posix()
)
"""The ``src`` folder of every distribution of the workspace (core, indicators,
strategies, both connectors, server, console)."""


@nox.session
def lint(session: nox.Session) -> None:
    """ruff lint and format check of all the Python in the repository (Markdown code
    blocks, which ruff also formats, are the docs' business: not checked here)."""
    _setup(session)
    session.run(str(BIN / "ruff"), "check", ".", external=True)
    session.run(str(BIN / "ruff"), "format", "--check", "--exclude", "*.md", ".", external=True)


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict (the pyproject settings) on every distribution, by package name."""
    _setup(session)
    packages: list[str] = []
    for src in SOURCES:
        for top in sorted((src / "moonlight").iterdir()):
            if not (top / "__init__.py").exists():  # a namespace: one level further
                packages += [
                    f"moonlight.{top.name}.{sub.name}"
                    for sub in sorted(top.iterdir())
                    if (sub / "__init__.py").exists()
                ]
            else:
                packages.append(f"moonlight.{top.name}")
    session.run(
        str(BIN / "mypy"),
        *(arg for name in packages for arg in ("-p", name)),
        external=True,
        env={"MYPYPATH": os.pathsep.join(str(src) for src in SOURCES)},
    )


@nox.session
def bench(session: nox.Session) -> None:
    """Benchmarks side by side with their anchors; JSON to .benchmarks/latest.json."""
    _setup(session)
    session.run(
        str(BIN / "python"),
        "-m",
        "pytest",
        "benchmarks",
        "-m",
        "bench",
        "--benchmark-only",
        "--benchmark-json=.benchmarks/latest.json",
        *session.posargs,
        external=True,
    )


@nox.session
def docs(session: nox.Session) -> None:
    """Build the MkDocs site strictly (broken links fail)."""
    _setup(session)
    session.run(str(BIN / "mkdocs"), "build", "--strict", external=True)


@nox.session
def soak(session: nox.Session) -> None:
    """Long soak: 120 workers over a simulated week (MOONLIGHT_SOAK_HOURS, default 168)."""
    _setup(session)
    (ROOT / ".benchmarks").mkdir(exist_ok=True)
    env = {
        "MOONLIGHT_SOAK_HOURS": os.environ.get("MOONLIGHT_SOAK_HOURS", "168"),
        "MOONLIGHT_SOAK_REPORT": str(ROOT / ".benchmarks" / "soak.json"),
    }
    # --timeout=0: pytest-timeout cannot interrupt a fast-forward run cleanly.
    session.run(
        str(BIN / "python"),
        "-m",
        "pytest",
        "tests/soak/test_soak.py",
        "-m",
        "slow",
        "--timeout=0",
        *session.posargs,
        external=True,
        env=env,
    )


@nox.session
def bundle(session: nox.Session) -> None:
    """The one-folder PyInstaller bundle in dist/moonlight (packaging/moonlight.spec)."""
    _setup(session)
    session.run(str(BIN / "python"), "packaging/build.py", *session.posargs, external=True)


@nox.session(name="bench-anchors")
def bench_anchors(session: nox.Session) -> None:
    """MoonLight vs Freqtrade, NautilusTrader, backtrader (EMA cross) -> docs/benchmarks.md.

    The anchors get their own environments under ~/.cache/moonlight-bench-anchors
    (or $MOONLIGHT_BENCH_CACHE); options after ``--`` go to benchmarks/anchors/run.py.
    """
    _setup(session)
    script = str(ROOT / "benchmarks" / "anchors" / "run.py")
    session.run(str(BIN / "python"), script, *session.posargs, external=True)
