"""Matching a message to the catalogue: normalising, sound keys, the index, ranking and deciding.

Nothing here imports a channel library; the engine calls `examine()` and `decide()`."""
