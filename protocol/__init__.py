"""The wire contract between omegad and its clients.

Importing this package is cheap and pulls in neither trio nor msgspec: the one-shot client uses
`protocol.errors`, `protocol.framing` and `protocol.paths` with the standard library only.
`protocol.messages` and `protocol.methods` hold the msgspec Structs (daemon and typed clients).
"""

__version__ = "0.1.0"

# Bumped on any incompatible change of the wire (method names, params, results, semantics).
# `server.hello` refuses a client speaking another protocol with VERSION_MISMATCH.
PROTOCOL_VERSION = 1
