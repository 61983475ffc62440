"""The Telegram channel: python-telegram-bot handlers and rendering of replies."""
