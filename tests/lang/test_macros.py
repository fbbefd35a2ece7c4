"""define-syntax / syntax-rules: expanded at compile time, kept in the session state."""

from omegad.lang import api

from .conftest import Repl


def test_swap_and_recursive_macros(repl):
    repl("(define-syntax swap! (syntax-rules () ((_ a b) (let ((tmp a)) (set! a b) "
         "(set! b tmp)))))")
    repl("(define x 1) (define y 2)")
    repl("(swap! x y)")
    assert repl("(list x y)") == "=> (2 1)"
    repl("(define-syntax my-or (syntax-rules () ((_) #f) ((_ e) e) "
         "((_ e r ...) (let ((t e)) (if t t (my-or r ...))))))")
    assert repl("(my-or #f #f 3)") == "=> 3"
    assert repl("(my-or)") == "=> #f"


def test_literals_and_ellipsis_bodies(repl):
    repl("(define-syntax for (syntax-rules (in) ((_ x in lst body ...) "
         "(for-each (lambda (x) body ...) lst))))")
    assert repl.lines("(for v in '(1 2 3) (display v) (display \",\"))") == ["1,2,3,=> null"]


def test_macro_usable_later_in_the_same_form_and_in_later_inputs(repl):
    assert repl.lines("(begin (define-syntax twice (syntax-rules () ((_ e) (begin e e)))) "
                      "(twice (display \"a\")))") == ["aa=> null"]
    assert repl.lines("(twice (display \"b\"))") == ["bb=> null"]


def test_no_matching_rule_is_an_error(repl):
    repl("(define-syntax one (syntax-rules () ((_ a) a)))")
    assert repl("(one 1 2)") == "error: one: no syntax rule matches"


def test_failed_command_forgets_its_macro(repl):
    assert repl("(begin (define-syntax m1 (syntax-rules () ((_) 1))) (car '()))") == \
        "error: car: expected pair"
    assert repl("(m1)") == "error: unbound var m1"


def test_macros_survive_serialization_and_restore():
    r = Repl()
    r.lines("(define-syntax inc! (syntax-rules () ((_ v) (set! v (+ v 1)))))")
    r.lines("(define n 0)")
    b = Repl()
    b.state = api.deserialize(api.serialize(r.state))
    b.lines("(inc! n)")
    assert b("n") == "=> 1"
    cp = api.capture(r.state)
    r.lines("(define-syntax inc! (syntax-rules () ((_ v) (set! v (+ v 10)))))")
    api.capture(r.state)
    api.restore(r.state, cp)
    r.lines("(inc! n)")
    assert r("n") == "=> 1"
