"""What DIVERGENCES.md part A promises (where we deliberately differ from the reference)."""


def test_late_binding_between_top_level_definitions(repl):  # A5
    repl("(define (ff) (gg))")
    repl("(define (gg) 1)")
    assert repl("(ff)") == "=> 1"
    repl("(define (getz) z)")
    repl("(define z 1)")
    assert repl("(getz)") == "=> 1"
    repl("(define (gg) 2)")
    assert repl("(ff)") == "=> 2"


def test_multi_shot_handler_continuation(repl):  # A8
    assert repl("(handle (+ 1 (effect a.op 1)) (on a.op (x k) (list (k 1) (k 2))))") == "=> (2 3)"
    assert repl("(handle (begin (effect a.op 1) 5) (on a.op (x k) (list (k 1) (k 2))))") == \
        "=> (5 5)"


def test_return_clause_applies_once(repl):  # A9
    assert repl("(handle (+ 1 (effect a.op 1)) (on a.op (x k) (k 10)) "
                "(return (v) (list 'ret v)))") == "=> (ret 11)"
    assert repl("(handle (+ 1 (effect a.op 1)) (on a.op (x k) 100) (return (v) (* v 2)))") == \
        "=> 100"


def test_finally_runs(repl):  # A10
    src = "(handle (effect a.op 1) (on a.op (x k) (k x)) (finally (display \"fin\")))"
    assert repl.lines(src) == ["fin=> 1"]
    assert repl.lines("(handle 5 (finally (display \"f\")))") == ["f=> 5"]


def test_clause_runs_outside_its_own_handler(repl):  # A11
    assert repl("(handle (handle (+ 1 (effect a.op 1)) (on a.op (x k) (k (+ 1 (effect a.op 10))))) "
                "(on a.op (x k) (k (* x 3))))") == "=> 32"


def test_chronological_amb(repl):  # A12
    assert repl("(let ((x (amb 1 2))) (let ((y (amb 'a 'b))) "
                "(require (not (and (= x 1) (eq? y 'a)))) (list x y)))") == "=> (1 b)"


def test_list_patterns_match_exact_length(repl):  # A13
    assert repl("(match (list 1 2 3) ((?a ?b) b) (_ 'no))") == "=> no"
    assert repl("(match (list 1 2) ((?a ?b) (+ a b)))") == "=> 3"


def test_force_memoizes(repl):  # A14
    repl("(define counter 0)")
    repl("(define q (delay (begin (set! counter (+ counter 1)) counter)))")
    assert repl("(force q)") == "=> 1"
    assert repl("(force q)") == "=> 1"


def test_let_star_allows_repeated_names(repl):  # A15
    assert repl("(let* ((x 1) (x (+ x 1))) x)") == "=> 2"


def test_no_step_cap_and_proper_tail_calls(repl):  # A7
    assert repl("(let loop ((i 0)) (if (= i 200000) 'done (loop (+ i 1))))") == "=> done"
    repl("(define (count n) (if (= n 0) 'ok (count (- n 1))))")
    assert repl("(count 150000)") == "=> ok"


def test_full_define_echo(repl):  # A1, A2, A3
    assert repl("(define (yesno->bool s) s)") == "=> yesno->bool"
    assert repl("(define a.b 2)") == "=> a.b"
    assert repl("(define *x* 1)") == "=> *x*"
    assert repl.lines("(define a 1) (+ a 1)") == ["=> a", "=> 2"]


def test_source_names_in_messages_and_closures(repl):  # A4
    assert repl("(lambda (x y) x)") == "=> <closure (x y)>"
    assert repl("(let ((a 1)) b)") == "error: unbound var b"


def test_apply_of_closure_at_top_level_does_not_corrupt(repl):  # A6
    assert repl("(apply (lambda (a) a) '(1))") == "=> 1"
    assert repl("((lambda (x) x) 5)") == "=> 5"


def test_higher_order_primitives_accept_closures(repl):  # A20
    assert repl.lines("(for-each (lambda (x) (display x)) '(1 2))") == ["12=> null"]
    assert repl("(fold (lambda (x acc) (+ x acc)) 0 '(1 2 3))") == "=> 6"


def test_short_forms_for_unprintable_values(repl):  # A21
    assert repl("(delay 1)") == "=> <promise>"
    assert repl("(call/cc (lambda (k) k))") == "=> <continuation>"


def test_condition_messages(repl):  # A22
    assert repl("(error 'my-error \"bad\" 42)") == "error: Unhandled condition: my-error - bad"


def test_and_or_short_circuit(repl):  # A23
    assert repl.lines("(and #f (display \"no\"))") == ["=> #f"]
    assert repl.lines("(or 1 (display \"no\"))") == ["=> 1"]
