"""Library procedures written in Omega Lisp itself (they call procedures lazily or recursively,
which is simplest as Lisp). They are builtins like the primitives: bound in every new session
and not part of a session's serialized state. The `;;` line above each is its `:doc` line."""

PRELUDE = r"""
;; A stream of (f x) for each x of stream s.
(define (stream-map f s)
  (cond ((not (procedure? f)) (error "stream-map: expected procedure"))
        ((null? s) '())
        (else (cons-stream (f (stream-car s)) (stream-map f (stream-cdr s))))))
;; A stream of the elements of s for which p is true.
(define (stream-filter p s)
  (cond ((not (procedure? p)) (error "stream-filter: expected procedure"))
        ((null? s) '())
        ((p (stream-car s)) (cons-stream (stream-car s) (stream-filter p (stream-cdr s))))
        (else (stream-filter p (stream-cdr s)))))
;; A stream of the first n elements of s.
(define (stream-take s n)
  (if (or (= n 0) (null? s)) '() (cons-stream (stream-car s) (stream-take (stream-cdr s) (- n 1)))))
;; The element of stream s at index n (from 0).
(define (stream-ref s n) (if (= n 0) (stream-car s) (stream-ref (stream-cdr s) (- n 1))))
;; Call f on each element of stream s, for its effects.
(define (stream-for-each f s)
  (if (null? s) '() (begin (f (stream-car s)) (stream-for-each f (stream-cdr s)))))
;; A procedure that ignores its arguments and returns v.
(define (constantly v) (lambda (. args) v))
;; A procedure applying the fs right to left: ((compose f g) x) is (f (g x)).
(define (compose . fs)
  (if (null? fs) identity
      (let ((f (car fs)) (g (apply compose (cdr fs))))
        (lambda (. args) (f (apply g args))))))
;; A procedure applying the fs left to right: ((pipe f g) x) is (g (f x)).
(define (pipe . fs) (apply compose (reverse fs)))
;; f with its first arguments fixed to pre.
(define (partial f . pre) (lambda (. args) (apply f (append pre args))))
;; Whether p is true of every element of lst.
(define (andmap p lst) (cond ((null? lst) #t) ((p (car lst)) (andmap p (cdr lst))) (else #f)))
;; Whether p is true of some element of lst.
(define (ormap p lst) (cond ((null? lst) #f) ((p (car lst)) #t) (else (ormap p (cdr lst)))))
;; Whether p is true of every element of lst.
(define (every p lst) (andmap p lst))
;; Whether p is true of some element of lst.
(define (any p lst) (ormap p lst))
;; The elements of lst in order: a stable merge sort by less?.
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
