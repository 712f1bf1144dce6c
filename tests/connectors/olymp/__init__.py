"""Wire-level tests of the Olymp connector against a loopback fake server."""
