"""What PTB's exceptions mean for delivery: which Bot API failures a retry can fix, and which may have arrived."""

from __future__ import annotations

import datetime as dt
import warnings

import httpx
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.warnings import PTBDeprecationWarning

from bot.service.delivery import Failure

# Refusals met in ordinary use: a press older than about 15 s cannot be acknowledged, and a double
# tap's second edit changes nothing. Retrying cannot help, and they are no operator's concern.
_ROUTINE = ("query is too old", "message is not modified")


def classify(exc: BaseException) -> Failure | None:
    """The delivery Failure for a Bot API exception; None for anything else (a bug, not the network).

    PTB raises NetworkError both for transport errors (httpx's, kept as __cause__) and for any HTTP
    status it has no class for, 5xx included (telegram/request/_baserequest.py); BadRequest (400)
    and TimedOut are NetworkError subclasses, so they are told apart first.
    """
    if isinstance(exc, RetryAfter):
        return Failure("flood", may_succeed=True, wait=_retry_after(exc))
    if isinstance(exc, Forbidden):  # blocked by the citizen, or kicked from the group
        return Failure("forbidden", may_succeed=False)
    if isinstance(exc, BadRequest):
        routine = any(text in str(exc).lower() for text in _ROUTINE)
        return Failure("bad_request", may_succeed=False, is_routine=routine)
    if isinstance(exc, InvalidToken | ChatMigrated | Conflict | EndPointNotFound):
        return Failure(type(exc).__name__.lower(), may_succeed=False)
    if isinstance(exc, TimedOut):
        # A connect or pool timeout never sent the request; a read or write timeout may have.
        unsent = isinstance(exc.__cause__, httpx.ConnectTimeout | httpx.PoolTimeout)
        return Failure("timeout", may_succeed=True, maybe_delivered=not unsent)
    if isinstance(exc, NetworkError):
        cause = exc.__cause__
        if cause is None or isinstance(cause, TelegramError):  # an HTTP status: 5xx, or an unknown one
            return Failure("server_error", may_succeed=True)
        # A dropped connection may come after Telegram acted on the request; a refused one cannot.
        return Failure("network", may_succeed=True, maybe_delivered=not isinstance(cause, httpx.ConnectError))
    if isinstance(exc, TelegramError):  # e.g. a 200 whose body is not JSON: the request did arrive
        return Failure("bad_response", may_succeed=True, maybe_delivered=True)
    return None


def _retry_after(exc: RetryAfter) -> float:
    with warnings.catch_warnings():  # PTB 22 warns that int periods are deprecated unless PTB_TIMEDELTA is set
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, dt.timedelta) else float(value)
