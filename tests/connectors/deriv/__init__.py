"""Wire-level tests of the Deriv connector against a loopback fake server."""
