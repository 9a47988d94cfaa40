"""The long-running controller: the loop and its waking (loop), the steps of one run
(reconcile), what a run found and did told as events, metrics and notices (reporting,
notices), how a run ended (results), backoff, metrics on the controller's own Prometheus
registry, the aiohttp endpoints, and the daemon that wires signals and the file watcher.
"""
