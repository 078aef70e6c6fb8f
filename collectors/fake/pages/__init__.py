"""Saved github.com pages (real markup structure) served by the fake upstream and used as test fixtures."""
