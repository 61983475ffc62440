"""Checks for whoever changes the bot: evaluation sets, conversation tests, the pytest plugin, the fake Bot API."""
