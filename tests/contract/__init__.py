"""Contract suite: the same behavioural checks against every installed connector."""
