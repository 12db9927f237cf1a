"""Fixtures for the WS-Management engine tests; the helpers live in simhelpers.py."""
from simhelpers import client, host, make_host, pki  # noqa: F401  # pylint: disable=unused-import
