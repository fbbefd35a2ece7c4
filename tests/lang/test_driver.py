"""The stdin driver (python -m omegad.lang) reads inputs as the reference's piped mode does."""

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def drive(text: str, **env) -> str:
    e = dict(os.environ, **env)
    proc = subprocess.run([sys.executable, "-m", "omegad.lang"], input=text.encode(),
                          capture_output=True, cwd=REPO, env=e, timeout=60)
    assert proc.returncode == 0, proc.stderr.decode()
    return proc.stdout.decode()


def test_multiline_inputs_comments_commands_and_quit():
    text = "; comment\n(define (f x)\n  (* x 2))\n\n:help\n(f 21)\n:quit\n(f 1)\n"
    assert drive(text) == "=> f\n=> 42\n"


def test_several_forms_on_one_line_each_print():
    assert drive("(define a 1) (+ a 1)\n") == "=> a\n=> 2\n"


def test_display_shares_the_line_with_the_result():
    assert drive('(display "hi")\n(newline)\n') == "hi=> null\n\n=> null\n"


def test_mock_effects_mode():
    out = drive('(effect infer.op "q")\n(+ 1 2)\n', OMEGA_MOCK_EFFECTS="1")
    assert out == '=> "mock:infer.op"\n=> 3\n'


def test_rules_file_oracle(tmp_path):
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps([{"when": "sentiment", "answer": "positive"}]))
    out = drive('(effect infer.op "sentiment of this")\n', OMEGA_RULES_FILE=str(rules))
    assert out == '=> "positive"\n'
