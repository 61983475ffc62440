"""What citizens asked: figures from the event log, terminal tables and the HTML page."""
