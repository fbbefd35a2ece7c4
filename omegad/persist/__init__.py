"""Persistence: the reference's journal and index files, and omega's own files beside them."""
