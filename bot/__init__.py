"""Jiangshan public legal service chatbot: a channel-agnostic engine with terminal, HTTP and Telegram channels."""

__version__ = "0.1.0"
