"""jupyter_kernel_test's protocol checks, run against the installed omega kernelspec on a real
daemon, with samples in Omega; then the parts of the protocol it does not cover."""

from __future__ import annotations

import signal
from collections.abc import Callable
from contextlib import ExitStack

import jupyter_kernel_test

from omegacli.kernel.kernel import INTERRUPTED
from tests.conftest import wait_until
from tests.kernel.conftest import KERNEL, JupyterEnv, install_kernel, jupyter_env

SESSION = "jkt"


class TestOmegaKernel(jupyter_kernel_test.KernelTests):
    kernel_name = f"{KERNEL}-{SESSION}"
    env: JupyterEnv
    _stack: ExitStack

    @classmethod
    def setUpClass(cls) -> None:
        cls._stack = ExitStack()
        cls.env = cls._stack.enter_context(jupyter_env())
        install_kernel(cls.env.prefix, "--session", SESSION)
        super().setUpClass()

    @classmethod
    def tearDownClass(cls) -> None:
        try:
            super().tearDownClass()
        finally:
            cls._stack.close()

    language_name = "omega"
    file_extension = ".omega"

    code_hello_world = '(display "hello, world")'
    completion_samples = [
        {"text": "(displ", "matches": {"display", "displayln"}},
        {"text": ":session li", "matches": {":session list"}},
    ]
    complete_code_samples = ["(+ 1 2)", ":session list", '(display "(")', "x ; (", ""]
    incomplete_code_samples = ["(define (f x)", '(display "open', "(let ((a 1))\n  (+ a"]
    invalid_code_samples = ["(+ 1 2))", ")"]
    code_execute_result = [
        {"code": "(+ 1 2)", "result": "3"},
        {"code": '(string-append "a" "b")', "result": '"ab"'},
        {"code": "(define sq (lambda (n) (* n n))) (sq 12)", "result": "144"},
        {"code": '(effect infer.op "the answer?")', "result": "42"},  # the scripted oracle
    ]
    code_generate_error = "(car 1)"
    code_inspect_sample = "car"

    # --- beyond jupyter_kernel_test -------------------------------------------------------------

    def test_kernel_info_names_the_session_and_its_dir(self) -> None:
        banner = self.kc.kernel_info(reply=True, timeout=10)["content"]["banner"]
        assert f"Session '{SESSION}' in {self.env.omega.session_dir}" in banner
        assert "oracle: scripted" in banner

    def test_error_reply_carries_the_message(self) -> None:
        self.flush_channels()
        reply, outputs = self.execute_helper("(car 1)")
        content = reply["content"]
        assert (content["status"], content["ename"]) == ("error", "OmegaError")
        assert content["evalue"] == "car: expected pair"
        assert content["traceback"][0] == "error: car: expected pair"
        assert [m["msg_type"] for m in outputs] == ["error"]

    def test_an_error_traceback_is_what_bt_prints(self) -> None:
        self.flush_channels()
        reply, _ = self.execute_helper("(define (head x) (car x)) (define (twice x) (head x) "
                                       "(head x)) (twice 5)")
        traceback = reply["content"]["traceback"]
        _, outputs = self.execute_helper(":bt")
        printed = "".join(m["content"]["text"] for m in outputs).splitlines()
        assert traceback == ["error: car: expected pair", *printed]
        assert printed[:2] == ["Backtrace (innermost first):", "  0: head  (car x)"]

    def test_inspect_shows_a_primitive_and_a_users_procedure(self) -> None:
        self.execute_helper("(define (area w h) (* w h))")
        for code, cursor in (("(area 2 3)", 3), ("(area 2 3)", 8)):  # on the name, in the form
            reply = self.kc.inspect(code, cursor, reply=True, timeout=10)["content"]
            assert reply["found"], (code, cursor)
            text = reply["data"]["text/plain"]
            assert text.startswith("area: procedure, 2 arguments\n  (area w h)")
            assert "(define (area w h) (* w h))" in text
        reply = self.kc.inspect("(car x)", 2, reply=True, timeout=10)["content"]
        assert reply["data"]["text/plain"].startswith("car: primitive, 1 argument")
        reply = self.kc.inspect("(no-such-name 1)", 3, reply=True, timeout=10)["content"]
        assert (reply["status"], reply["found"]) == ("ok", False)

    def test_earlier_forms_print_as_the_repl_prints_them(self) -> None:
        self.flush_channels()
        reply, outputs = self.execute_helper('(define y 2) (display "two") (* y 21)')
        assert reply["content"]["status"] == "ok"
        texts = [(m["msg_type"], m["content"].get("text") or m["content"].get("data"))
                 for m in outputs]
        assert texts == [("stream", "=> y\n"), ("stream", "two"), ("stream", "=> null\n"),
                         ("execute_result", {"text/plain": "42"})]

    def test_an_error_before_the_last_form_fails_the_cell(self) -> None:
        self.flush_channels()
        reply, outputs = self.execute_helper("(car 1) (+ 1 1)")
        assert reply["content"]["status"] == "error"
        kinds = [(m["msg_type"], m["content"].get("name")) for m in outputs]
        assert kinds == [("stream", "stderr"), ("execute_result", None), ("error", None)]

    def test_commands_print_their_text(self) -> None:
        self.flush_channels()
        reply, outputs = self.execute_helper(":session list")
        assert reply["content"]["status"] == "ok"
        assert outputs and all(m["msg_type"] == "stream" for m in outputs)
        assert "Saved sessions" in "".join(m["content"]["text"] for m in outputs) or outputs

    def test_silent_runs_but_publishes_nothing(self) -> None:
        self.flush_channels()
        reply, outputs = self.execute_helper('(define quiet 7) (display "shh")', silent=True)
        assert reply["content"]["status"] == "ok" and outputs == []
        reply, outputs = self.execute_helper("quiet")
        assert outputs[-1]["content"]["data"] == {"text/plain": "7"}

    def test_execution_count_follows_the_cells(self) -> None:
        self.flush_channels()
        first, _ = self.execute_helper("(+ 1 1)")
        second, _ = self.execute_helper("(+ 2 2)")
        unstored, _ = self.execute_helper("(+ 3 3)", store_history=False)
        assert second["content"]["execution_count"] == first["content"]["execution_count"] + 1
        assert unstored["content"]["execution_count"] == second["content"]["execution_count"]

    def test_complete_is_cursor_aware(self) -> None:
        code = "(displ 1) (car x)"
        reply = self.kc.complete(code, 6, reply=True, timeout=10)["content"]
        assert (reply["cursor_start"], reply["cursor_end"]) == (1, 6)
        assert set(reply["matches"]) == {"display", "displayln"}
        reply = self.kc.complete(code, 3, reply=True, timeout=10)["content"]  # mid-symbol
        assert (reply["cursor_start"], reply["cursor_end"]) == (1, 6)
        assert "display" in reply["matches"]

    def test_is_complete_indents_by_depth(self) -> None:
        self.kc.is_complete("(define (f x)\n  (let ((a 1))")
        reply = self.kc.get_shell_msg(timeout=10)["content"]
        assert reply == {"status": "incomplete", "indent": "  " * 2}

    def test_percent_session_switches_and_the_old_session_keeps_its_state(self) -> None:
        self.flush_channels()
        self.execute_helper("(define home 1)")
        reply, outputs = self.execute_helper("%session jkt-other\n(define away 2)")
        assert reply["content"]["status"] == "ok"
        assert "Now in session 'jkt-other'" in outputs[0]["content"]["text"]
        reply, outputs = self.execute_helper("home")
        assert reply["content"]["evalue"] == "unbound var home"
        reply, outputs = self.execute_helper(f"%session {SESSION}\nhome")
        assert outputs[-1]["content"]["data"] == {"text/plain": "1"}
        reply, _ = self.execute_helper("%session bad/name")
        assert reply["content"]["status"] == "error"
        reply, outputs = self.execute_helper("home")  # still here after the refused switch
        assert outputs[-1]["content"]["data"] == {"text/plain": "1"}

    def test_after_a_fork_the_notebook_works_in_the_new_session(self) -> None:
        self.flush_channels()
        self.execute_helper("(define before-fork 1)")
        reply, _ = self.execute_helper(":session fork jkt-fork")
        assert reply["content"]["status"] == "ok"
        self.execute_helper("(define after-fork 2)")
        _, outputs = self.execute_helper("%session")
        assert "Session 'jkt-fork'" in outputs[0]["content"]["text"]
        _, outputs = self.execute_helper(f"%session {SESSION}\nafter-fork")
        assert outputs[-1]["msg_type"] == "error"  # defined in the fork only

    def test_interrupt_ends_the_cell_and_leaves_the_session_as_it_was(self) -> None:
        self.check_interrupt(self.km.interrupt_kernel)  # interrupt_request (interrupt_mode)

    def test_sigint_interrupts_the_cell_too(self) -> None:
        self.check_interrupt(lambda: self.km.signal_kernel(signal.SIGINT))

    def check_interrupt(self, interrupt: Callable[[], None]) -> None:
        self.flush_channels()
        self.execute_helper("(define counter 0) (define (spin) (spin))")
        journal = self.env.omega.session_dir / "sessions" / f"{SESSION}.jsonl"
        runs = journal.read_text().count("(set! counter 1)")
        msg_id = self.kc.execute("(begin (set! counter 1) (spin))")
        wait_until(lambda: journal.read_text().count("(set! counter 1)") > runs,
                   what="the cell to run")
        interrupt()
        reply = self.get_non_kernel_info_reply(timeout=20)
        assert reply["parent_header"]["msg_id"] == msg_id
        assert reply["content"]["status"] == "error"
        assert reply["content"]["evalue"] == INTERRUPTED
        self.flush_channels()
        reply, outputs = self.execute_helper("counter")
        assert outputs[-1]["content"]["data"] == {"text/plain": "0"}
