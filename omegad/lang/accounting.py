"""The evaluator's own allocation accounting.

Allocating primitives add an estimate of the bytes they allocate to ALLOC[0]; the machine reads
the counter around each slice of steps (slices are synchronous, so the delta is exact)."""

ALLOC = [0]
PAIR = 56
