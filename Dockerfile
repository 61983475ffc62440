# legalbot serve: the HTTP API and, with TELEGRAM_BOT_TOKEN, WEBHOOK_URL and WEBHOOK_SECRET, the
# Telegram webhook. See docs/deploy.md for the variables.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN useradd --create-home --uid 10001 legalbot
WORKDIR /app

# Installed exactly as README.md says (tests/test_dockerfile.py checks the line).
COPY pyproject.toml README.md ./
COPY bot ./bot
RUN python3 -m venv .venv && .venv/bin/pip install .

# The default paths resolve from WORKDIR: ./intents and ./content.
COPY intents ./intents
COPY content ./content
RUN mkdir data .legalbot-cache && chown legalbot data .legalbot-cache
VOLUME /app/data
ENV PATH=/app/.venv/bin:$PATH LEGALBOT_DB=/app/data/events.sqlite3

USER legalbot
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python3", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4)"]
CMD ["legalbot", "serve", "--host", "0.0.0.0", "--port", "8080"]
