"""Settings read once from an environment mapping and passed down; secrets stay out of repr."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from urllib.parse import urlsplit
from dataclasses import dataclass, field
from pathlib import Path

from bot.errors import ConfigError

DEFAULT_TELEGRAM_BASE_URL = "https://api.telegram.org/bot"
_TOKEN = re.compile(r"^\d{3,15}:[A-Za-z0-9_-]{20,100}$")
# What the Official Account's 基本配置 page accepts: Token 3-32 letters or digits, EncodingAESKey
# 43 letters or digits (base64 of 32 bytes without its "="), AppID "wx" and 16 more.
_WECHAT_TOKEN = re.compile(r"^[A-Za-z0-9]{3,32}$")
_WECHAT_AES_KEY = re.compile(r"^[A-Za-z0-9]{43}$")
_WECHAT_APP_ID = re.compile(r"^wx[A-Za-z0-9]{16}$")
_POSTGRES = ("postgresql", "postgres")
_POSTGRES_PREFIXES = ("postgresql:", "postgres:")


def _default_dir(name: str) -> Path:
    """intents/ or content/ in the working directory, else beside the package (a source checkout)."""
    here = Path.cwd() / name
    if here.is_dir():
        return here
    return Path(__file__).resolve().parent.parent / name


def _int(environ: Mapping[str, str], key: str, default: int, minimum: int = 0) -> int:
    raw = environ.get(key)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{key} has value {raw!r}: not a whole number") from None
    if value < minimum:
        raise ConfigError(f"{key} has value {raw!r}: must be at least {minimum}")
    return value


def _origins(environ: Mapping[str, str], key: str) -> tuple[str, ...]:
    """Comma-separated origins (scheme://host[:port], nothing after), as browsers send them in `Origin`."""
    origins = []
    for raw in environ.get(key, "").split(","):
        item = raw.strip().rstrip("/")
        if not item:
            continue
        try:
            parts = urlsplit(item)
            port = parts.port  # raises ValueError when it is not a number
        except ValueError:
            parts, port = None, None
        if (parts is None or parts.scheme not in ("http", "https") or not parts.hostname or parts.username
                or parts.password or parts.path or parts.query or parts.fragment or "*" in item):
            raise ConfigError(f"{key} has value {raw.strip()!r}: expected origins like https://www.jiangshan.gov.cn, "
                              "comma-separated (scheme, host and optional port; no path, no *)")
        host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
        origins.append(f"{parts.scheme}://{host}" + (f":{port}" if port is not None else ""))
    return tuple(dict.fromkeys(origins))


def safe_url(url: str) -> str:
    """`url` without its password (and user), for logs and errors: redis://:secret@h/0 -> redis://***@h/0."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "<unparsable URL>"
    where = f"***@{host}" if parts.username or parts.password else host
    return f"{parts.scheme}://{where}{port}{parts.path}"


def _service_url(environ: Mapping[str, str], key: str, schemes: tuple[str, ...]) -> str:
    """A redis:// or postgresql:// URL from the environment ("" when unset); the error never quotes a password."""
    url = environ.get(key, "").strip()
    if url and (urlsplit(url).scheme not in schemes or not urlsplit(url).hostname):
        raise ConfigError(f"{key} has value {safe_url(url)!r}: expected a URL like {schemes[0]}://host:port/…")
    return url


def default_match_workers() -> int:
    """One match worker per core; none on a single core, where the processes would only take turns."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return cores if cores >= 2 else 0


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything configurable from the environment; see README for each variable."""

    intents_dir: Path
    content_dir: Path
    telegram_token: str = field(default="", repr=False)
    telegram_base_url: str = DEFAULT_TELEGRAM_BASE_URL
    webhook_url: str = ""
    webhook_secret: str = field(default="", repr=False)
    db_path: Path | None = None  # SQLite event log
    db_url: str = field(default="", repr=False)  # PostgreSQL event log (may hold a password)
    redis_url: str = field(default="", repr=False)  # shared conversation state for several replicas
    retention_days: int = 90
    hash_salt: str = field(default="", repr=False)
    rate_limit_per_minute: int = 20
    match_workers: int = 0  # worker processes that match messages for serve/telegram; 0: inline
    wechat_token: str = field(default="", repr=False)
    wechat_app_id: str = ""
    wechat_aes_key: str = field(default="", repr=False)
    web_origins: tuple[str, ...] = ()  # other sites that may embed the chat page and call /api/*
    cache_dir: Path | None = None  # LEGALBOT_CACHE_DIR; None: .legalbot-cache/ beside intents/, else user_cache_dir
    user_cache_dir: Path | None = None  # $XDG_CACHE_HOME/legalbot (or ~/.cache/legalbot)
    use_cache: bool = True  # LEGALBOT_CACHE_DIR=off: load the catalogue from its files every time

    def catalogue_cache_dir(self) -> Path | None:
        """Where loaded catalogues are cached: LEGALBOT_CACHE_DIR, else .legalbot-cache/ beside intents/
        when that folder can be written, else the user's cache folder; None when caching is off."""
        if not self.use_cache:
            return None
        if self.cache_dir is not None:
            return self.cache_dir
        beside = self.intents_dir.resolve().parent
        local = beside / ".legalbot-cache"
        if os.access(local if local.is_dir() else beside, os.W_OK) or self.user_cache_dir is None:
            return local
        return self.user_cache_dir

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        """Read the LEGALBOT_*, TELEGRAM_* and WECHAT_* variables; raise ConfigError naming a bad one."""
        db = environ.get("LEGALBOT_DB", "").strip()
        db_url = _service_url(environ, "LEGALBOT_DB", _POSTGRES) if db.startswith(_POSTGRES_PREFIXES) else ""
        cache = environ.get("LEGALBOT_CACHE_DIR", "").strip()
        xdg = environ.get("XDG_CACHE_HOME") or (str(Path(environ["HOME"]) / ".cache") if environ.get("HOME") else "")
        return cls(
            intents_dir=Path(environ.get("LEGALBOT_INTENTS") or _default_dir("intents")),
            content_dir=Path(environ.get("LEGALBOT_CONTENT") or _default_dir("content")),
            telegram_token=environ.get("TELEGRAM_BOT_TOKEN", "").strip(),
            telegram_base_url=environ.get("TELEGRAM_BASE_URL", "").strip() or DEFAULT_TELEGRAM_BASE_URL,
            webhook_url=environ.get("WEBHOOK_URL", "").strip(),
            webhook_secret=environ.get("WEBHOOK_SECRET", "").strip(),
            db_path=Path(db) if db and not db_url else None,
            db_url=db_url,
            redis_url=_service_url(environ, "LEGALBOT_REDIS_URL", ("redis", "rediss")),
            retention_days=_int(environ, "LEGALBOT_RETENTION_DAYS", 90, minimum=1),
            hash_salt=environ.get("LEGALBOT_HASH_SALT", ""),
            rate_limit_per_minute=_int(environ, "LEGALBOT_RATE_LIMIT", 20, minimum=1),
            match_workers=_int(environ, "LEGALBOT_MATCH_WORKERS", default_match_workers()),
            wechat_token=environ.get("WECHAT_TOKEN", "").strip(),
            wechat_app_id=environ.get("WECHAT_APP_ID", "").strip(),
            wechat_aes_key=environ.get("WECHAT_AES_KEY", "").strip(),
            web_origins=_origins(environ, "LEGALBOT_WEB_ORIGINS"),
            cache_dir=Path(cache) if cache and cache.lower() != "off" else None,
            user_cache_dir=Path(xdg) / "legalbot" if xdg else None,
            use_cache=cache.lower() != "off",
        )

    def require_token(self) -> str:
        """The Telegram token, or ConfigError when it is missing or not shaped like one."""
        if not self.telegram_token:
            raise ConfigError("TELEGRAM_BOT_TOKEN is not set")
        if not _TOKEN.match(self.telegram_token):
            raise ConfigError("TELEGRAM_BOT_TOKEN is malformed: expected digits, a colon and a key, as BotFather gives it")
        return self.telegram_token

    def check_wechat(self) -> None:
        """Raise ConfigError, naming the variable, when the WeChat settings cannot work together."""
        if not self.wechat_token:
            if self.wechat_app_id or self.wechat_aes_key:
                raise ConfigError("WECHAT_TOKEN is not set: WECHAT_APP_ID and WECHAT_AES_KEY need the account's Token")
            return
        if not _WECHAT_TOKEN.match(self.wechat_token):
            raise ConfigError("WECHAT_TOKEN is malformed: expected 3-32 letters or digits, as set on the account's 基本配置 page")
        if self.wechat_aes_key and not _WECHAT_AES_KEY.match(self.wechat_aes_key):
            raise ConfigError(f"WECHAT_AES_KEY is not an EncodingAESKey ({len(self.wechat_aes_key)} characters): "
                              "expected 43 letters and digits, as the account's 基本配置 page gives it")
        if self.wechat_aes_key and not self.wechat_app_id:
            raise ConfigError("WECHAT_APP_ID is not set: safe mode (WECHAT_AES_KEY) needs the account's AppID")
        if self.wechat_app_id and not _WECHAT_APP_ID.match(self.wechat_app_id):
            raise ConfigError(f"WECHAT_APP_ID has value {self.wechat_app_id!r}: expected wx and 16 letters or digits")
