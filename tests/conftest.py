pytest_plugins = ["bot.checks.pytest_plugin"]
