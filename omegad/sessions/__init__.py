"""Sessions: the pool of session actors, the REPL command language, leases."""
