"""Primitives by theme, including the names the reference lacks."""

import pytest


@pytest.mark.parametrize("src,out", [
    # numbers
    ("(+ 1 2 3)", "=> 6"), ("(- 5)", "=> -5"), ("(* 2 3 4)", "=> 24"), ("(/ 1 3)",
    "=> 0.3333333333333333"), ("(/ 1 0)", "=> Infinity"), ("(/ 0 0)", "=> NaN"),
    ("(+ 1 \"a\")", "=> NaN"), ("(modulo 7 3)", "=> 1"), ("(< 1 2)", "=> #t"),
    ("(>= 1 2)", "=> #f"), ("(= 1 1.0)", "=> #t"), ("(even? 4)", "=> #t"),
    ("(abs -3)", "=> 3"), ("(min 3 1 2)", "=> 1"), ("(max 3 1 2)", "=> 3"),
    ("(sqrt 16)", "=> 4"), ("(expt 2 10)", "=> 1024"), ("(floor 2.5)", "=> 2"),
    ("(number->string 1.25)", "=> \"1.25\""), ("(string->number \"-3.5\")", "=> -3.5"),
    ("(string->number \"abc\")", "=> #f"), ("(quotient 7 2)", "=> 3"),
    # lists
    ("(cons 1 2)", "=> (1 . 2)"), ("(car '(1 2))", "=> 1"), ("(cdr '(1 2))", "=> (2)"),
    ("(cadr '(1 2))", "=> 2"), ("(caddr '(1 2 3))", "=> 3"), ("(cddr '(1 2 3))", "=> (3)"),
    ("(caar '((1) 2))", "=> 1"), ("(list)", "=> null"), ("(length '(1 2 3))", "=> 3"),
    ("(length \"abc\")", "=> 0"), ("(list-ref '(a b) 1)", "=> b"),
    ("(append '(1) '(2) '(3 4))", "=> (1 2 3 4)"), ("(reverse '(1 2 3))", "=> (3 2 1)"),
    ("(null? '())", "=> #t"), ("(pair? '())", "=> #f"),
    ("(assoc 'b '((a 1) (b 2)))", "=> (b 2)"), ("(assoc 'z '((a 1)))", "=> #f"),
    ("(member 2 '(1 2 3))", "=> (2 3)"), ("(member 9 '(1 2 3))", "=> #f"),
    ("(take '(1 2 3 4) 2)", "=> (1 2)"), ("(drop '(1 2 3 4) 2)", "=> (3 4)"),
    ("(let ((p (list 1 2))) (set-car! p 9) p)", "=> (9 2)"),
    # equality and types
    ("(eq? 'a 'a)", "=> #t"), ("(eq? \"ab\" \"ab\")", "=> #t"),
    ("(eq? (list 1) (list 1))", "=> #f"), ("(equal? '(1 (2)) (list 1 (list 2)))", "=> #t"),
    ("(symbol? 'a)", "=> #t"), ("(string? \"a\")", "=> #t"), ("(number? 1)", "=> #t"),
    ("(boolean? #f)", "=> #t"), ("(procedure? car)", "=> #t"), ("(not 1)", "=> #t"),
    ("(not '())", "=> #t"), ("(not #t)", "=> #f"),
    # strings and symbols
    ("(string-append \"a\" \"b\")", "=> \"ab\""), ("(string-length \"héllo\")", "=> 5"),
    ("(substring \"hello\" 1 3)", "=> \"el\""), ("(string-upcase \"ab\")", "=> \"AB\""),
    ("(string-split \"a,b\" \",\")", "=> (\"a\" \"b\")"),
    ("(string-join '(\"a\" \"b\") \"-\")", "=> \"a-b\""),
    ("(string-trim \"  x \")", "=> \"x\""), ("(string-contains? \"abc\" \"bc\")", "=> #t"),
    ("(string-replace-all \"a-b\" \"-\" \"+\")", "=> \"a+b\""),
    ("(symbol->string 'abc)", "=> \"abc\""),
    ("(list->string '(\"a\" \"b\"))", "=> \"ab\""), ("(string->symbol \"xyz\")", "=> xyz"),
    ("(string=? \"a\" \"a\")", "=> #t"), ("(read \"(a 1)\")", "=> (a . 1)"),
    ("(read \"foo\")", "=> foo"), ("(eval '(+ 1 2))", "=> 3"),
    ("(eval (read \"(* 2 3)\"))", "=> 6"),
    # higher order
    ("(map (lambda (x) (* x x)) '(1 2 3))", "=> (1 4 9)"), ("(map + '(1 2) '(10 20))",
    "=> (11 22)"), ("(filter odd? '(1 2 3))", "=> (1 3)"),
    ("(fold-left cons '() '(1 2))", "=> ((null . 1) . 2)"),
    ("(fold-right cons '() '(1 2))", "=> (1 2)"), ("(reduce + 0 '(1 2 3))", "=> 6"),
    ("(apply + 1 2 '(3 4))", "=> 10"), ("(apply (lambda (a b) (- a b)) '(5 1))", "=> 4"),
    ("(sort '(3 1 2) <)", "=> (1 2 3)"), ("((compose car cdr) '(1 2 3))", "=> 2"),
    ("((constantly 7) 1 2)", "=> 7"), ("(identity 5)", "=> 5"),
    ("(andmap number? '(1 2))", "=> #t"), ("(ormap string? '(1 2))", "=> #f"),
    ("(call/cc (lambda (k) (+ 1 (k 42))))", "=> 42"),
    # streams and promises
    ("(stream->list (stream-map (lambda (x) (* 2 x)) (list->stream '(1 2 3))) 2)",
     "=> (2 4)"),
    ("(promise? (delay 1))", "=> #t"),
    ("(stream->list (stream-filter odd? (list->stream '(1 2 3 4 5))))", "=> (1 3 5)"),
    # misc
    ("(dist-count (effect search.op \"q\"))", "=> 8"),
    ("(effect int.op \"q\")",
     "=> (meaning (denotation 42) (confidence 1) (trace \"stackDepth=0\"))"),
])
def test_primitive(repl, src, out):
    assert repl(src) == out


@pytest.mark.parametrize("src,msg", [
    ("(car '())", "car: expected pair"), ("(cdr 5)", "cdr: expected pair"),
    ("(cadr '(1))", "cadr: expected pair in cdr"),
    ("(list-ref '(1 2) 5)", "list-ref: index out of bounds"),
    ("(string-append \"a\" 5)", "string-append: expected strings"),
    ("(string-length 5)", "string-length: expected string"),
    ("(substring \"abc\" \"a\" 2)", "substring: expected numbers for indices"),
    ("(number->string \"x\")", "number->string: expected number"),
    ("(5 3)", "Attempted to apply non-callable value: Num"),
    ("('() 1)", "Attempted to apply non-callable value: Unit"),
    ("(map 5 '(1))", "map: expected procedure"),
    ("(error 'my-error \"bad\" 42)", "Unhandled condition: my-error - bad"),
    ("(error \"boom\")", "boom"),
])
def test_primitive_errors(repl, src, msg):
    assert repl(src) == "error: " + msg


def test_gensym_counter_is_shared_across_prefixes(repl):
    assert repl("(gensym)") == "=> g1"
    assert repl("(gensym \"temp\")") == "=> temp2"
    assert repl("(equal? (gensym) (gensym))") == "=> #f"


def test_hash_tables(repl):
    repl("(define h (make-hash-table))")
    repl("(hash-set! h \"k\" 1)")
    repl("(hash-set! h '(a b) 2)")
    assert repl("(hash-ref h \"k\")") == "=> 1"
    assert repl("(hash-ref h (list 'a 'b))") == "=> 2"
    assert repl("(hash-ref h 'missing 'dflt)") == "=> dflt"
    assert repl("(hash-has-key? h \"k\")") == "=> #t"
    assert repl("(hash-count h)") == "=> 2"
    repl("(hash-remove! h \"k\")")
    assert repl("(hash-count h)") == "=> 1"


def test_display_goes_to_the_sink_and_interleaves(repl):
    assert repl.lines("(begin (display \"a\") (newline) (display '(1 \"b\" ())) 'x)") == [
        "a", '(1 "b" ())=> x']
    assert repl.lines("(display car)") == ["<native:car>=> null"]


def test_for_each_with_closures_and_filter_truthiness(repl):
    assert repl.lines("(for-each (lambda (x) (display x)) '(1 2))") == ["12=> null"]
    assert repl("(filter (lambda (x) x) '(1 #f 2))") == "=> (1 2)"


def test_redefining_a_primitive_is_seen_by_later_calls(repl):
    repl("(define (add3 x) (+ x 3))")
    repl("(define (+ a b) (* a b))")
    assert repl("(add3 5)") == "=> 15"


def test_read_follows_the_reference_s_expression_reader(repl):
    assert repl('(read "(a (b c) d)")') == "=> [a (b . c) d]"
    assert repl('(read "true")') == "=> #t"
    assert repl('(read "(a")') == "error: read: parse error - unterminated list"
    assert repl('(read "a b")') == \
        "error: read: parse error - trailing tokens after first expression"
    assert repl('(eval (read "(list 1 (list 2 3))"))') == "=> (1 (2 3))"


def test_reified_machines_follow_the_reference_model(repl):
    repl("(define m (machine-new '(+ 1 2)))")
    assert repl("(machine? m)") == "=> #t"
    assert repl("(machine-done? m)") == "=> #f"
    repl("(define m2 (machine-run m))")
    assert repl("(list (machine-done? m2) (machine-value m2) (machine-step-count m2))") == \
        "=> (#t (+ 1 2) 1)"
    assert repl("(machine-value m)") == "error: machine-value: machine not done"


def test_register_and_expand_macro(repl):
    assert repl("(register-macro 'double-it (lambda (form) (list '* 2 (cadr form))))") == \
        "=> double-it"
    assert repl("(macro? 'double-it)") == "=> #t"
    assert repl("(eval (expand-macro '(double-it 5)))") == "=> 10"
    assert repl("(register-macro 5 car)") == "error: register-macro: name must be a symbol"
