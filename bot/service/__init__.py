"""The running service: start-up and shutdown, match workers, locks, limits, reload, metrics, event log."""
