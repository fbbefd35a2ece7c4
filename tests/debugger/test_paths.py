"""The client resolves the file arguments of :loadfile, :replay, :dump and :export itself."""

import os

from omegacli.inputs import with_paths


def test_file_arguments_are_made_absolute_against_the_clients_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    here = str(tmp_path)
    assert with_paths(":loadfile lib.omega") == f":loadfile {here}/lib.omega"
    assert with_paths(":replay ../d.json") == f":replay {os.path.dirname(here)}/d.json"
    assert with_paths(":dump out/t.json") == f":dump {here}/out/t.json"
    assert with_paths(":export snap s.json") == f":export snap {here}/s.json"
    assert with_paths(":loadfile /abs/x") == ":loadfile /abs/x"


def test_other_inputs_and_bare_commands_are_left_alone():
    for text in (":loadfile", ":export snap", "(loadfile x)", ":dumpx y", ":step 2"):
        assert with_paths(text) == text
