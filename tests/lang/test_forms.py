"""Each special form, with its error cases."""

import pytest


@pytest.mark.parametrize("src,out", [
    ("(define x 10)", "=> x"),
    ("(begin (define x 10) x)", "=> 10"),
    ("(begin (define (sq x) (* x x)) (sq 5))", "=> 25"),
    ("((lambda (a b) (- a b)) 5 3)", "=> 2"),
    ("(let ((a 1) (b 2)) (+ a b))", "=> 3"),
    ("(let ((a 1)) (define b 2) (+ a b))", "=> 3"),
    ("(let loop ((i 0) (acc 1)) (if (= i 5) acc (loop (+ i 1) (* acc 2))))", "=> 32"),
    ("(let* ((a 2) (b (* a 3))) (list a b))", "=> (2 6)"),
    ("(letrec ((ev? (lambda (n) (if (= n 0) #t (od? (- n 1))))) "
     "(od? (lambda (n) (if (= n 0) #f (ev? (- n 1)))))) (ev? 10))", "=> #t"),
    ("(if #f 1)", "=> #f"),
    ("(cond ((= 1 2) 'a) (else 'b))", "=> b"),
    ("(cond (#f 1))", "=> #f"),
    ("(cond (#t))", "=> #t"),
    ("(begin)", "=> null"),
    ("(quote (a b))", "=> (a b)"),
    ("(let ((x 1)) (set! x 5) x)", "=> 5"),
    ("(when (> 2 1) 'a 'b)", "=> b"),
    ("(when #f 'a)", "=> null"),
    ("(unless #f 'a)", "=> a"),
    ("(unless #t 'a)", "=> null"),
    ("(case 3 ((1 2) 'low) ((3 4) 'mid) (else 'high))", "=> mid"),
    ("(case 'z ((a) 1) (else 2))", "=> 2"),
    ("(and 1 2 3)", "=> 3"),
    ("(and #t '())", "=> null"),
    ("(and)", "=> #t"),
    ("(or #f 2)", "=> 2"),
    ("(or #f '())", "=> #f"),
    ("(or)", "=> #f"),
    ("(match '(1 2 3) ((1 ?x 3) x))", "=> 2"),
    ("(match 'foo (foo 1) (_ 2))", "=> 1"),
    ("(match '() (null 'empty) (_ 'other))", "=> empty"),
    ("(match 'x ('x 1) (_ 2))", "=> 1"),
    ("(force (delay (+ 1 2)))", "=> 3"),
    ("(stream-car (stream-cdr (cons-stream 1 (cons-stream 2 '()))))", "=> 2"),
    ("(handle (+ 1 (effect ask.op 5)) (on ask.op (x k) (k (* x 2))))", "=> 11"),
    ("(handle 5 (return (v) (* v 2)))", "=> 10"),
    ("(amb 1 2 3)", "=> 1"),
    ("(let ((x (amb 1 2 3))) (require (> x 2)) x)", "=> 3"),
    ("((oracle-lambda (x) \"apply-add1\") 41)", "=> 42"),
    ("(define (f . args) args)", "=> f"),
    ("(do ((i 0 (+ i 1)) (acc '() (cons i acc))) ((= i 3) acc))", "=> (2 1 0)"),
])
def test_form(repl, src, out):
    assert repl(src) == out


@pytest.mark.parametrize("src,msg", [
    ("(let ((x)) x)", "let: binding must be (x init)"),
    ("(lambda x x)", "lambda: params must be list"),
    ("(if)", "if: expected (if test conseq) or (if test conseq alt)"),
    ("(quote)", "quote: expected (quote datum)"),
    ("(define)", "define: expected (define x rhs) or (define (f ...) ...)"),
    ("(let loop)", "let: expected (let ((x e) ...) body...)"),
    ("(set! undefined-thing 1)", "set! target did not resolve"),
    ("(handle (effect a.op 1) (foo bar))", "unknown handle clause: foo"),
    ("(handle (effect a.op 1) (on a.op (x) 1))", "on: expected (x k)"),
    ("(if 1 2 3)", "if test must be boolean"),
    ("(cond (1 2))", "if test must be boolean"),
    ("(match 3 (4 'no))", "match: no clause matched"),
    ("(effect my.op 1)", "Uncaught op: my.op"),
    ("(require #f)", "amb: all alternatives exhausted"),
    ("(amb)", "amb: all alternatives exhausted"),
])
def test_form_errors(repl, src, msg):
    assert repl(src) == "error: " + msg


def test_rest_parameters(repl):
    repl("(define (f a . more) (list a more))")
    assert repl("(f 1 2 3)") == "=> (1 (2 3))"
    assert repl("(f 1)") == "=> (1 null)"


def test_define_inside_a_nested_expression_does_not_resolve(repl):
    assert repl("(define (f) (if #t (define z 1) 2) z)") == "error: define binder did not resolve"
    assert repl("f") == "error: unbound var f"


@pytest.mark.parametrize("src,out", [
    ("(match '(1 1) ((?a ?a) 'same) (_ 'diff))", "=> same"),
    ("(match '(1 2) ((?a ?a) 'same) (_ 'diff))", "=> diff"),
    ("(match \"x\" ('x 'yes) (_ 'no))", "=> yes"),
    ("(match '(a b c) ('(a b c) 'yes) (_ 'no))", "=> yes"),
    ("(match (read \"(f 1 2)\") ((f ?x ?y) (+ x y)))", "=> 3"),
    ("(match 'foo (\"foo\" 1))", "=> 1"),
])
def test_match_patterns_as_the_reference_lowers_them(repl, src, out):
    assert repl(src) == out


def test_our_extra_forms_give_way_to_user_definitions(repl):
    repl("(define (do x) (* x 2))")
    assert repl("(do 21)") == "=> 42"
    assert repl("(when #t 1)") == "=> 1"


def test_explicit_amb_effects(repl):
    assert repl("(let ((x (effect amb.choose (list (lambda () 1) (lambda () 2))))) "
                "(require (> x 1)) x)") == "=> 2"
    assert repl("(effect amb.fail \"no\")") == "error: amb: all alternatives exhausted"
