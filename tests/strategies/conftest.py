"""Strategy tests run against the working tree's indicator and strategy packages."""
