"""Handlers, one module per method family; importing this package registers them all.

To add a family: declare its params/result Structs and `_method(...)` entries in
`protocol/methods.py`, write `omegad/methods/<family>.py` with `@method("<family>.<name>")`
handlers, and import the module here.
"""

from omegad.methods import debug, notes, server, session  # noqa: F401
