"""Prometheus metrics for one running app: message outcomes, reply latency, feedback, catalogue health,
refused messages and the delivery policy's retries and give-ups."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from bot.engine import Engine, Feedback, Turn
from bot.service.delivery import DeliveryCounts
from bot.service.matchpool import MatchPool
from bot.service.ratelimit import RateLimiter



class EventCounts(Protocol):
    """What /metrics and /healthz read of an event log (SQLite's or PostgreSQL's)."""

    written: int
    failed: int
    restarts: int

    @property
    def pending(self) -> int: ...


CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# Matching takes about a millisecond; the upper buckets catch a loop that is stalled.
_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)


class _Health(Collector):
    """Read at scrape time, so the figures are never stale and nothing needs to push them."""

    def __init__(self, engine: Engine, limiter: RateLimiter | None, events: EventCounts | None,
                 pool: MatchPool | None, delivery: DeliveryCounts | None) -> None:
        self._engine = engine
        self._limiter = limiter
        self._events = events
        self._pool = pool
        self._delivery = delivery

    def collect(self) -> Iterator[Metric]:
        engine = self._engine
        yield GaugeMetricFamily("legalbot_catalogue_degraded",
                                "1 when the last catalogue reload failed and the previous catalogue is still served",
                                value=1.0 if engine.last_reload_problems else 0.0)
        yield CounterMetricFamily("legalbot_catalogue_reload_failures",
                                  "Catalogue reloads that failed since start", value=engine.reload_failures)
        yield GaugeMetricFamily("legalbot_catalogue_intents", "Intents in the catalogue being served",
                                value=len(engine.catalogue.intents))
        if self._limiter is not None:
            yield CounterMetricFamily("legalbot_rate_limited",
                                      "Messages refused by the per-user rate limit", value=self._limiter.refused)
        if self._delivery is not None:
            yield from _delivery_metrics(self._delivery)
        events = self._events
        if events is not None:
            # A failing event log loses the operators' reports while citizens are still answered:
            # alert on failed rows or writer restarts, and on a backlog that keeps growing.
            yield CounterMetricFamily("legalbot_event_log_rows_written", "Rows the event log has written",
                                      value=events.written)
            yield CounterMetricFamily("legalbot_event_log_rows_failed",
                                      "Rows the event log could not write (dropped)", value=events.failed)
            yield CounterMetricFamily("legalbot_event_log_writer_restarts",
                                      "Event log writer threads replaced after one stopped", value=events.restarts)
            yield GaugeMetricFamily("legalbot_event_log_pending", "Rows waiting for the event log writer",
                                    value=events.pending)
            problem = getattr(events, "problem", None)
            if problem is not None:  # PostgreSQL: rows wait in a bounded buffer while the database is away
                yield GaugeMetricFamily("legalbot_event_log_up", "1 while the event database is reachable",
                                        value=0.0 if problem else 1.0)
                yield CounterMetricFamily("legalbot_event_log_outages", "Times the event database went away",
                                          value=getattr(events, "outages", 0))
        store = engine.conversations.health()
        if store.name != "memory":
            # While the shared store is away replicas answer without context and limit per replica.
            yield GaugeMetricFamily("legalbot_conversation_store_up", "1 while Redis is reachable",
                                    value=1.0 if store.is_up else 0.0)
            yield CounterMetricFamily("legalbot_conversation_store_failures",
                                      "Operations that found Redis unreachable and ran without it",
                                      value=store.failures)
            yield CounterMetricFamily("legalbot_conversation_store_outages", "Times Redis went away",
                                      value=store.outages)
            yield CounterMetricFamily("legalbot_conversation_store_round_trips", "Round trips made to Redis",
                                      value=store.round_trips)
        pool = self._pool
        if pool is not None:
            # Inline matching keeps citizens answered but loads the serving loop: alert when it grows.
            yield GaugeMetricFamily("legalbot_match_workers", "Match worker processes running",
                                    value=pool.running)
            yield CounterMetricFamily("legalbot_match_inline_fallbacks",
                                      "Messages matched in the serving process because no worker could take them",
                                      value=pool.fallbacks)
            yield CounterMetricFamily("legalbot_match_worker_restarts",
                                      "Match workers replaced after one stopped", value=pool.restarts)


def _delivery_metrics(counts: DeliveryCounts) -> Iterator[Metric]:
    labels = ["channel", "method", "cause"]
    retries = CounterMetricFamily("legalbot_delivery_retries",
                                  "Sends to citizens retried after a failure, by cause", labels=labels)
    for key, n in sorted(counts.retries.items()):
        retries.add_metric(list(key), n)
    gave_up = CounterMetricFamily("legalbot_delivery_gave_up",
                                  "Sends to citizens given up on (not retried, or retried until the deadline)",
                                  labels=labels)
    for key, n in sorted(counts.gave_up.items()):
        gave_up.add_metric(list(key), n)
    yield retries
    yield gave_up


class Metrics:
    """A private registry fed by the engine's listeners; labels carry no citizen text or user ids."""

    def __init__(self, engine: Engine, limiter: RateLimiter | None = None, events: EventCounts | None = None,
                 pool: MatchPool | None = None, delivery: DeliveryCounts | None = None) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._messages = Counter("legalbot_messages", "Messages handled, by channel and outcome (reply kind)",
                                 ["channel", "outcome"], registry=self.registry)
        self._latency = Histogram("legalbot_reply_seconds", "Time the engine took to reply",
                                  ["channel"], buckets=_BUCKETS, registry=self.registry)
        self._feedback = Counter("legalbot_feedback", "Citizens' feedback on answers", ["helpful"],
                                 registry=self.registry)
        self.registry.register(_Health(engine, limiter, events, pool, delivery))
        self.events = events
        self._engine = engine
        self._unsubscribe = engine.subscribe(self.on_turn, self.on_feedback)

    def on_turn(self, turn: Turn) -> None:
        """Count one handled message and its latency."""
        self._messages.labels(turn.channel, turn.reply.kind).inc()
        self._latency.labels(turn.channel).observe(turn.millis / 1000.0)

    def on_feedback(self, event: Feedback) -> None:
        """Count one 👍 or 👎."""
        self._feedback.labels("true" if event.is_helpful else "false").inc()

    def render(self) -> bytes:
        """The Prometheus text exposition of every metric."""
        return generate_latest(self.registry)

    def close(self) -> None:
        """Stop listening to the engine (it may outlive this app, as in tests)."""
        self._unsubscribe()
