"""The catalogue: intents/ and content/ read, checked and frozen into one `Catalogue`."""
