from tests.e2e.conftest import shared_daemon  # noqa: F401  (the module-wide daemon)
