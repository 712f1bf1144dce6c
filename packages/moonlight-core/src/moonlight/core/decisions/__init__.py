"""Decision records: every ensemble decision with its shadow outcome at expiry."""
