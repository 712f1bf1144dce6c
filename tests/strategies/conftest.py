"""Strategy tests run against the working tree's indicator and strategy packages."""

from tests.strategies.workspace import ensure_workspace_packages

ensure_workspace_packages()
