"""Omega Lisp: reader, compiler, step machine, primitives, printer. Pure: no I/O, no trio."""
