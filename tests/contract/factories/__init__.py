"""One module per connector under contract test; see :mod:`tests.contract.env`."""
