import importlib


def test_packages_import():
    for name in ("protocol", "omegad", "omegad.lang", "omegacli"):
        assert importlib.import_module(name) is not None
