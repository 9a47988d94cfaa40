"""The long-running controller: the reconcile loop, its backoff and notices, its HTTP
endpoints and metrics, and the daemon that wires signals and the file watcher.
"""
