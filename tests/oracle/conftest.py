"""The e2e module-wide daemon, for the provider tests here."""

from tests.e2e.conftest import shared_daemon  # noqa: F401 (a fixture)
