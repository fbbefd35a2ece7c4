"""Library procedures written in Omega Lisp itself (they call procedures lazily or recursively,
which is simplest as Lisp). They are builtins like the primitives: bound in every new session
and not part of a session's serialized state."""

PRELUDE = r"""
(define (stream-map f s)
  (cond ((not (procedure? f)) (error "stream-map: expected procedure"))
        ((null? s) '())
        (else (cons-stream (f (stream-car s)) (stream-map f (stream-cdr s))))))
(define (stream-filter p s)
  (cond ((not (procedure? p)) (error "stream-filter: expected procedure"))
        ((null? s) '())
        ((p (stream-car s)) (cons-stream (stream-car s) (stream-filter p (stream-cdr s))))
        (else (stream-filter p (stream-cdr s)))))
(define (stream-take s n)
  (if (or (= n 0) (null? s)) '() (cons-stream (stream-car s) (stream-take (stream-cdr s) (- n 1)))))
(define (stream-ref s n) (if (= n 0) (stream-car s) (stream-ref (stream-cdr s) (- n 1))))
(define (stream-for-each f s)
  (if (null? s) '() (begin (f (stream-car s)) (stream-for-each f (stream-cdr s)))))
(define (constantly v) (lambda (. args) v))
(define (compose . fs)
  (if (null? fs) identity
      (let ((f (car fs)) (g (apply compose (cdr fs))))
        (lambda (. args) (f (apply g args))))))
(define (pipe . fs) (apply compose (reverse fs)))
(define (partial f . pre) (lambda (. args) (apply f (append pre args))))
(define (andmap p lst) (cond ((null? lst) #t) ((p (car lst)) (andmap p (cdr lst))) (else #f)))
(define (ormap p lst) (cond ((null? lst) #f) ((p (car lst)) #t) (else (ormap p (cdr lst)))))
(define (every p lst) (andmap p lst))
(define (any p lst) (ormap p lst))
(define (sort lst less?)
  (define (merge a b)
    (cond ((null? a) b) ((null? b) a)
          ((less? (car b) (car a)) (cons (car b) (merge a (cdr b))))
          (else (cons (car a) (merge (cdr a) b)))))
  (define (split lst)
    (if (or (null? lst) (null? (cdr lst))) (list lst '())
        (let ((rest (split (cddr lst))))
          (list (cons (car lst) (car rest)) (cons (cadr lst) (cadr rest))))))
  (if (or (null? lst) (null? (cdr lst))) lst
      (let ((halves (split lst)))
        (merge (sort (car halves) less?) (sort (cadr halves) less?)))))
"""

#: values bound as plain data (not procedures)
CONSTANTS = {"the-empty-stream": None}
