"""`:session list` over a session dir: the listing (listing.py), its counts' cache (catalog.py),
and the directory watch that keeps it current (dirwatch.py)."""
