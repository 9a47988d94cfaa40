"""What accesscodes remembers between runs: the journal (runs, changes, fingerprints of what
was written), the apply lock, and private files. SQLite now; a second backend implements the
same calls.
"""
