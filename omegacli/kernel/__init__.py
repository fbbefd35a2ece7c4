"""The Jupyter kernel: a thin client of omegad that runs notebook cells in an omega session.

kernel.py (the ipykernel `Kernel` subclass), link.py (reaching omegad and the session), cells.py
(a command's notices → a cell's outputs), choice.py (which session), spec.py (`omegacli kernel
install|list`), __main__.py (the process Jupyter starts). Imported only when a notebook or
`omegacli kernel` asks: the one-shot and REPL paths import none of Jupyter.
"""
