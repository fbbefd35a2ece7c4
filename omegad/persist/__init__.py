"""Persistence: the reference's journal and index files, omega's checkpoint file, the writer task."""
