"""The message bus: publish JSON messages to Countersign's queues and consume them, over kombu.

One class for every broker kombu gives us: ``sqla+sqlite:////abs/path/queue.db`` (the embedded
default, no broker process), ``sqla+postgresql://…``, ``memory://`` (tests, one process) and
``amqp://user:pass@host:port/vhost`` (RabbitMQ). On RabbitMQ queues are durable, messages
persistent, publishes confirmed, acks manual, and a consumer's unacked deliveries come back to
the next consumer after a crash. Everywhere delivery is at least once: consumers deduplicate.

A consumer's handler decides each delivery's fate:

* returns → ack;
* raises :class:`PoisonMessage` (or the body is not a JSON object) → the message goes to the
  queue's ``.dlq`` with a readable ``x-error`` header, the original is acked;
* raises anything else → republished (to the back of the queue) with ``x-attempts`` + 1 after
  ``retry_delay_seconds``, or dead-lettered once ``max_attempts`` handlings have failed.

What the transports keep: the message id travels as the ``message_id`` property and headers
as headers on every transport (the virtual ones store both in their JSON envelope).
``redelivered`` comes from RabbitMQ's flag, or from the flag kombu's virtual transports put on a
message they restored. The SQL transport marks a row invisible when it hands it out and never
deletes it; a consumer killed before its ack loses that delivery for the transport (the outbox
re-sends it), and :meth:`Bus.prune_delivered` deletes old delivered rows. ``memory://`` drops
unacked messages when a channel closes.
"""

from __future__ import annotations

import base64
import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, TypeVar
from urllib.parse import urlsplit

import kombu
from kombu.exceptions import KombuError
from sqlalchemy import Engine, and_, column, create_engine, delete, select, table
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from agent.messaging.topology import Topology, check_queue, dlq_name, physical_name, topology
from tools.observability import get_logger

log = get_logger("countersign.messaging")

T = TypeVar("T")
Kind = Literal["sqla", "memory", "amqp"]
HeaderValue = str | int | float | bool | None

_SCHEMES: dict[str, Kind] = {
    "sqla": "sqla",
    "sqlalchemy": "sqla",
    "memory": "memory",
    "amqp": "amqp",
    "amqps": "amqp",
    "pyamqp": "amqp",
}
_ERROR_LIMIT = 500
# kombu's SQL transport keeps its rows in these tables (its defaults; we never override them).
_KOMBU_MESSAGES = table(
    "kombu_message",
    column("id"),
    column("queue_id"),
    column("visible"),
    column("timestamp"),
    column("payload"),
)
_KOMBU_QUEUES = table("kombu_queue", column("id"), column("name"))


class BusUnavailable(Exception):
    """The broker could not be reached (or refused the operation) after the bounded retries."""


class PoisonMessage(Exception):
    """Raised by a handler for a message that can never succeed: it is dead-lettered, not retried."""

    def __init__(self, reason: str) -> None:
        self.reason = one_line(reason) or "poison message"
        super().__init__(self.reason)


@dataclass(frozen=True)
class Delivery:
    """One message as a handler sees it.

    ``attempts`` counts the handlings that failed before this one (0 on first delivery);
    ``redelivered`` is the broker's flag: the message was handed out before and not acked.
    """

    message_id: str
    body: dict[str, Any]
    headers: dict[str, Any]
    attempts: int
    redelivered: bool
    queue: str


Handler = Callable[[Delivery], None]


def one_line(text: object, limit: int = _ERROR_LIMIT) -> str:
    """``text`` on one line (whitespace collapsed), cut to ``limit`` characters."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def describe_error(exc: BaseException) -> str:
    """An exception as one readable line: its type and its message."""
    message = one_line(exc)
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def mask_url(url: str) -> str:
    """``url`` with its password replaced by ``***`` (safe for logs and error messages)."""
    try:
        parts = urlsplit(url)
        if parts.password is None:
            return url
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port is not None else ""
        netloc = f"{parts.username or ''}:***@{host}{port}"
        return parts._replace(netloc=netloc).geturl()
    except ValueError:
        return "<unparseable url>"


def _password(url: str) -> str | None:
    try:
        return urlsplit(url).password or None
    except ValueError:
        return None


def bus_kind(url: str) -> Kind:
    """Which family of transport ``url`` names; a one-line ValueError for anything else."""
    if not isinstance(url, str) or "://" not in url:
        raise ValueError(f"bad bus URL {mask_url(str(url))!r}: expected scheme://…")
    scheme = url.split("://", 1)[0].lower()
    family = scheme.split("+", 1)[0]
    kind = _SCHEMES.get(family)
    if kind is None or (kind == "sqla" and "+" not in scheme):
        raise ValueError(
            f"unsupported bus URL {mask_url(url)!r}: use sqla+sqlite:////abs/path/queue.db, "
            "sqla+postgresql://…, memory:// or amqp://user:pass@host:port/vhost"
        )
    return kind


def _sql_url(url: str) -> str:
    """The SQLAlchemy URL inside a ``sqla+…`` bus URL."""
    return url.split("+", 1)[1]


class Bus:
    """Publishes to and consumes from Countersign's queues on one broker (thread-safe).

    Publishing, :meth:`size`, :meth:`purge` and :meth:`dead_letters` share one connection
    under a lock; every :meth:`consume` call opens a connection of its own, so consumers can run
    in several threads. ``prefix`` gives a separate set of queues and exchanges (tests).

    ``connect_retries`` bounds each (re)connection: that many further attempts, backing off
    0.25 s → 2 s, each limited by ``connect_timeout``. ``heartbeat_seconds`` applies to RabbitMQ
    consumers (checked every poll): a handler must return well within twice that, or the broker
    drops the connection and hands the message out again. ``polling_interval`` is how often the
    embedded transports look for new messages.
    """

    def __init__(
        self,
        url: str,
        *,
        max_attempts: int = 5,
        retry_delay_seconds: float = 1.0,
        connect_timeout: float = 10.0,
        prefix: str = "",
        connect_retries: int = 5,
        heartbeat_seconds: float = 60.0,
        polling_interval: float = 0.1,
        reconnect_rounds: int = 8,
    ) -> None:
        self._kind = bus_kind(url)
        _check_positive_int("max_attempts", max_attempts)
        _check_non_negative("retry_delay_seconds", retry_delay_seconds)
        _check_positive("connect_timeout", connect_timeout)
        _check_non_negative("connect_retries", connect_retries)
        _check_non_negative("heartbeat_seconds", heartbeat_seconds)
        _check_positive("polling_interval", polling_interval)
        _check_positive_int("reconnect_rounds", reconnect_rounds)
        self._url = url
        self.safe_url = mask_url(url)
        self._secret = _password(url)
        self._max_attempts = max_attempts
        self._retry_delay = retry_delay_seconds
        self._connect_timeout = connect_timeout
        self._connect_retries = int(connect_retries)
        self._heartbeat = heartbeat_seconds
        self._polling_interval = polling_interval
        self._reconnect_rounds = reconnect_rounds
        self._topology: Topology = topology(prefix)
        self._lock = threading.RLock()
        self._connection: Any = None
        self._channel: Any = None
        self._producer: Any = None
        self._sql_engine: Engine | None = None
        if self._kind == "sqla":
            _prepare_sqlite_file(_sql_url(url))
        probe = self._new_connection(consumer=False)  # never connected: only asked for its error types
        # Errors worth reconnecting for; anything else (a refused login, a queue declared with
        # other arguments) fails at once with its own message.
        recoverable: tuple[type[BaseException], ...] = (
            *probe.recoverable_connection_errors,
            *probe.recoverable_channel_errors,
            KombuError,
            OSError,
        )
        if self._kind == "sqla":
            # kombu lists only OperationalError; a lost race creating a queue row (IntegrityError)
            # leaves its session unusable, and a fresh connection is the cure for both.
            recoverable = (*recoverable, SQLAlchemyError)
        self._recoverable = recoverable
        self._reconnectable: tuple[type[BaseException], ...] = (*recoverable, BusUnavailable)
        self._broker_errors: tuple[type[BaseException], ...] = (
            *recoverable,
            *probe.connection_errors,
            *probe.channel_errors,
            _message_nacked(),
        )

    # ------------------------------------------------------------------ properties

    @property
    def kind(self) -> Kind:
        """``sqla``, ``memory`` or ``amqp``."""
        return self._kind

    @property
    def prefix(self) -> str:
        return self._topology.prefix

    @property
    def topology(self) -> Topology:
        return self._topology

    @property
    def confirms(self) -> bool:
        """True when the publishing channel waits for the broker's confirm of every message."""
        with self._lock:
            self._publisher()
            return bool(getattr(self._channel, "_confirm_selected", False))

    # ------------------------------------------------------------------ publishing

    def publish(
        self,
        queue: str,
        body: dict[str, Any],
        *,
        message_id: str,
        headers: Mapping[str, HeaderValue] | None = None,
    ) -> None:
        """Send ``body`` (a JSON object) to ``queue``, persistent, under ``message_id``.

        Raises BusUnavailable when the broker cannot take it after the bounded retries.
        """
        check_queue(queue)
        payload = encode_body(body)
        self._send(
            queue,
            payload,
            content_type="application/json",
            content_encoding="utf-8",
            message_id=_check_message_id(message_id),
            headers=_check_headers(headers),
        )

    def publish_raw(
        self,
        queue: str,
        body: bytes | str,
        *,
        message_id: str,
        headers: Mapping[str, HeaderValue] | None = None,
        content_type: str = "application/json",
    ) -> None:
        """Send a body as it is, unchecked (tools and tests that need a malformed message)."""
        check_queue(queue)
        payload = body.encode("utf-8") if isinstance(body, str) else bytes(body)
        self._send(
            queue,
            payload,
            content_type=content_type,
            content_encoding="utf-8",
            message_id=_check_message_id(message_id),
            headers=_check_headers(headers),
        )

    def _send(
        self,
        queue: str,
        payload: bytes,
        *,
        content_type: str,
        content_encoding: str,
        message_id: str,
        headers: dict[str, Any],
        dead_letter: bool = False,
    ) -> None:
        exchange = self._topology.dlx if dead_letter else self._topology.exchange
        routing_key = physical_name(dlq_name(queue) if dead_letter else queue, self.prefix)

        def attempt() -> None:
            self._publisher(f"publish to {routing_key}")
            self._producer.publish(
                payload,
                exchange=exchange,
                routing_key=routing_key,
                content_type=content_type,
                content_encoding=content_encoding,
                headers=headers,
                message_id=message_id,
                delivery_mode=2,
                timeout=self._connect_timeout,
                confirm_timeout=self._connect_timeout,
            )

        with self._lock:
            self._with_publisher(f"publish to {routing_key}", attempt)

    # ------------------------------------------------------------------ consuming

    def consume(
        self,
        queue: str,
        handler: Handler,
        *,
        stop: threading.Event,
        prefetch: int = 1,
        idle: Callable[[], None] | None = None,
        poll_seconds: float = 0.5,
    ) -> None:
        """Hand every message of ``queue`` to ``handler`` until ``stop`` is set.

        A lost connection is re-established with backoff (0.5 s doubling to 5 s) and consumption
        goes on; the broker hands unacked messages out again (at least once). Raises
        BusUnavailable when ``reconnect_rounds`` rounds in a row fail without a message handled
        (each round is ``connect_retries`` connection attempts), or when the broker refuses us
        for good (a wrong login, a queue declared with other arguments). ``prefetch`` is how
        many unacked messages the broker hands this consumer ahead; ``idle`` runs whenever
        ``poll_seconds`` pass without a message (a failing ``idle`` is logged, not raised).
        """
        check_queue(queue)
        _check_positive_int("prefetch", prefetch)
        _check_positive("poll_seconds", poll_seconds)
        backoff = _Backoff(self._reconnect_rounds)
        while not stop.is_set():
            connection = self._new_connection(consumer=True)
            try:
                channel = self._open(connection, f"consume from {queue}")
                self._consume_on(
                    connection, channel, queue, handler, stop, prefetch, idle, poll_seconds, backoff
                )
            except self._reconnectable as exc:
                # Connecting failed after its own retries, or the connection broke mid-stream:
                # back off and start again, for a bounded number of rounds without progress.
                if not backoff.may_retry():
                    if isinstance(exc, BusUnavailable):
                        raise
                    raise BusUnavailable(
                        f"cannot consume from {queue} on {self.safe_url}: {self._scrub(describe_error(exc))}"
                    ) from exc
                delay = backoff.next()
                log.warning(
                    "bus connection lost; reconnecting",
                    queue=queue,
                    url=self.safe_url,
                    error=self._scrub(describe_error(exc)),
                    retry_in=delay,
                )
                stop.wait(delay)
            except self._broker_errors as exc:
                raise BusUnavailable(
                    f"cannot consume from {queue} on {self.safe_url}: {self._scrub(describe_error(exc))}"
                ) from exc
            finally:
                _release(connection)

    def _consume_on(
        self,
        connection: Any,
        channel: Any,
        queue: str,
        handler: Handler,
        stop: threading.Event,
        prefetch: int,
        idle: Callable[[], None] | None,
        poll_seconds: float,
        backoff: _Backoff,
    ) -> None:
        def on_message(message: Any) -> None:
            self._handle(message, queue, handler, stop)
            backoff.reset()

        consumer = _kombu().Consumer(
            channel,
            queues=[self._topology.queues[queue]],
            no_ack=False,
            auto_declare=False,
            prefetch_count=prefetch,
            on_message=on_message,
        )
        consumer.consume()
        backoff.reset()
        while not stop.is_set():
            try:
                connection.drain_events(timeout=poll_seconds)
            except TimeoutError:  # socket.timeout: nothing arrived within poll_seconds
                connection.heartbeat_check()
                if idle is not None:
                    _run_idle(idle, queue)
            else:
                connection.heartbeat_check()
        # Stop taking deliveries before the connection closes; prefetched, unhandled ones
        # go back to the queue (RabbitMQ on close; the SQL transport on channel close).
        _quietly(consumer.cancel)

    def _handle(self, message: Any, queue: str, handler: Handler, stop: threading.Event) -> None:
        delivery, problem = read_delivery(message, queue)
        if delivery is None:
            attempts = _int_header(dict(message.headers or {}).get("x-attempts")) or 0
            self._dead_letter(message, queue, problem or "unreadable message", attempts + 1)
        else:
            try:
                handler(delivery)
            except PoisonMessage as exc:
                self._dead_letter(message, queue, exc.reason, delivery.attempts + 1)
            except Exception as exc:
                self._after_failure(message, delivery, describe_error(exc), stop)
        message.ack()

    def _after_failure(self, message: Any, delivery: Delivery, error: str, stop: threading.Event) -> None:
        attempts = delivery.attempts + 1
        # Called while the handler's exception is being handled: exc_info logs its traceback.
        if attempts >= self._max_attempts:
            log.error(
                "message handling failed for the last time", message_id=delivery.message_id, exc_info=True
            )
            self._dead_letter(message, delivery.queue, error, attempts)
            return
        log.warning(
            "message handling failed; retrying",
            queue=delivery.queue,
            message_id=delivery.message_id,
            attempts=attempts,
            error=error,
            retry_in=self._retry_delay,
            exc_info=True,
        )
        # At most retry_delay_seconds of this consumer's time; shutdown cuts it short (the
        # message is republished either way, never dropped).
        stop.wait(self._retry_delay)
        headers = {**dict(message.headers or {}), "x-attempts": attempts, "x-last-error": error}
        self._send(
            delivery.queue,
            _raw_body(message),
            content_type=message.content_type or "application/json",
            content_encoding=message.content_encoding or "utf-8",
            message_id=delivery.message_id,
            headers=_amqp_safe(headers),
        )

    def _dead_letter(self, message: Any, queue: str, reason: str, attempts: int) -> None:
        message_id = str(dict(message.properties or {}).get("message_id") or "")
        log.warning(
            "message dead-lettered", queue=queue, message_id=message_id, attempts=attempts, error=reason
        )
        headers = {
            **dict(message.headers or {}),
            "x-error": one_line(reason),
            "x-original-queue": queue,
            "x-attempts": attempts,
            "x-failed-at": datetime.now(UTC).isoformat(timespec="milliseconds"),
        }
        self._send(
            queue,
            _raw_body(message),
            content_type=message.content_type or "application/octet-stream",
            content_encoding=message.content_encoding or "binary",
            message_id=message_id or "unknown",
            headers=_amqp_safe(headers),
            dead_letter=True,
        )

    # ------------------------------------------------------------------ inspection

    def size(self, queue: str) -> int:
        """Messages ready in ``queue`` or its ``.dlq`` twin (best effort: others may be consuming)."""
        name = physical_name(queue, self.prefix)

        def attempt() -> int:
            self._publisher(f"count {name}")
            return int(self._channel.queue_declare(queue=name, passive=True).message_count)

        with self._lock:
            return self._with_publisher(f"count {name}", attempt)

    def purge(self, queue: str) -> int:
        """Delete every ready message of ``queue`` or its ``.dlq`` twin; how many went."""
        name = physical_name(queue, self.prefix)

        def attempt() -> int:
            self._publisher(f"purge {name}")
            return int(self._channel.queue_purge(queue=name) or 0)

        with self._lock:
            return self._with_publisher(f"purge {name}", attempt)

    def dead_letters(self, queue: str, limit: int = 100) -> list[Delivery]:
        """Up to ``limit`` messages of ``queue``'s ``.dlq``, oldest first, left in place.

        How they are read without being lost: on the SQL transport the rows are SELECTed
        (nothing changes); on RabbitMQ they are fetched unacked on a channel of their own which
        is then closed, so the broker puts them back in place (flagged redelivered); on
        ``memory://`` they are fetched and requeued, so they keep their order when all of them
        were read. A body that is not a JSON object shows as ``{"_raw": "<text>"}``.
        """
        check_queue(queue)
        _check_positive_int("limit", limit)
        name = physical_name(dlq_name(queue), self.prefix)
        if self._kind == "sqla":
            return self._sql_dead_letters(queue, name, limit)

        def attempt() -> list[Delivery]:
            self._publisher(f"read {name}")
            return self._browse(queue, name, limit)

        with self._lock:
            return self._with_publisher(f"read {name}", attempt)

    def _browse(self, queue: str, name: str, limit: int) -> list[Delivery]:
        channel = self._connection.channel()
        taken: list[Any] = []
        try:
            for _ in range(limit):
                message = channel.basic_get(queue=name, no_ack=False)
                if message is None:
                    break
                taken.append(message)
            return [_browsed(message, dlq_name(queue)) for message in taken]
        finally:
            if self._kind == "memory":
                # The memory transport drops unacked messages on close: put them back by hand.
                for message in taken:
                    message.reject(requeue=True)
            _quietly(channel.close)

    def _sql_dead_letters(self, queue: str, name: str, limit: int) -> list[Delivery]:
        with self._lock:
            self._with_publisher(f"open {name}", self._publisher)  # kombu creates its tables
        query = (
            select(_KOMBU_MESSAGES.c.payload)
            .select_from(
                _KOMBU_MESSAGES.join(_KOMBU_QUEUES, _KOMBU_MESSAGES.c.queue_id == _KOMBU_QUEUES.c.id)
            )
            .where(_KOMBU_QUEUES.c.name == name, _KOMBU_MESSAGES.c.visible.is_(True))
            .order_by(_KOMBU_MESSAGES.c.id)
            .limit(limit)
        )
        try:
            with self._engine().connect() as conn:
                rows: list[str] = list(conn.execute(query).scalars().all())
        except SQLAlchemyError as exc:
            raise BusUnavailable(
                f"cannot read {name} on {self.safe_url}: {self._scrub(describe_error(exc))}"
            ) from exc
        return [_from_virtual_payload(json.loads(row), dlq_name(queue)) for row in rows]

    def prune_delivered(self, older_than: timedelta) -> int:
        """Delete this bus's delivered rows older than ``older_than`` (SQL transport; 0 elsewhere).

        kombu's SQL transport marks a delivered row invisible and never deletes it; the time it
        stamps on delivery is the local wall clock, so the cut-off is too.
        """
        if not isinstance(older_than, timedelta) or older_than < timedelta(0):
            raise ValueError(f"older_than must be a non-negative timedelta, not {older_than!r}")
        if self._kind != "sqla":
            return 0
        with self._lock:
            self._with_publisher("open the queue tables", self._publisher)
        names = [physical_name(q, self.prefix) for q in self._topology.queues] + [
            physical_name(dlq_name(q), self.prefix) for q in self._topology.queues
        ]
        cutoff = datetime.now() - older_than  # naive local time, as kombu stamps it
        statement = delete(_KOMBU_MESSAGES).where(
            and_(
                _KOMBU_MESSAGES.c.visible.is_(False),
                _KOMBU_MESSAGES.c.timestamp < cutoff,
                _KOMBU_MESSAGES.c.queue_id.in_(
                    select(_KOMBU_QUEUES.c.id).where(_KOMBU_QUEUES.c.name.in_(names))
                ),
            )
        )
        try:
            with self._engine().begin() as conn:
                return int(conn.execute(statement).rowcount or 0)
        except SQLAlchemyError as exc:
            raise BusUnavailable(f"cannot prune {self.safe_url}: {self._scrub(describe_error(exc))}") from exc

    # ------------------------------------------------------------------ lifecycle

    def close(self) -> None:
        """Close the publishing connection (consumers close their own when they stop)."""
        with self._lock:
            self._drop_publisher()
            if self._sql_engine is not None:
                self._sql_engine.dispose()
                self._sql_engine = None

    def __enter__(self) -> Bus:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ connections

    def _new_connection(self, *, consumer: bool) -> Any:
        options: dict[str, Any] = {}
        if self._kind == "amqp":
            options["confirm_publish"] = True
        elif self._kind == "sqla" and make_url(_sql_url(self._url)).get_backend_name() == "sqlite":
            # Several processes share the file: wait for its lock instead of failing at once.
            options["connect_args"] = {"timeout": 30}
        connection = _kombu().Connection(
            self._url,
            connect_timeout=self._connect_timeout,
            heartbeat=self._heartbeat if consumer and self._kind == "amqp" else 0,
            transport_options=options,
        )
        if self._kind != "amqp":
            # Virtual transports poll; their default (1 s) would make every idle consumer slow
            # to notice work. Set on the instance: the SQL transport hands unknown transport
            # options to create_engine, which rejects them.
            connection.transport.polling_interval = self._polling_interval
        return connection

    def _open(self, connection: Any, what: str) -> Any:
        """Connect (bounded retries with backoff), open a channel and declare the topology.

        Raises BusUnavailable when no connection could be made; an error while declaring
        propagates as it is, for the caller to classify.
        """

        def on_retry(exc: BaseException, interval: float) -> None:
            log.warning(
                "bus unreachable; retrying",
                url=self.safe_url,
                error=self._scrub(describe_error(exc)),
                retry_in=interval,
            )

        try:
            connection.ensure_connection(
                errback=on_retry,
                max_retries=self._connect_retries,
                interval_start=0.25,
                interval_step=0.5,
                interval_max=2.0,
            )
        except self._broker_errors as exc:
            raise BusUnavailable(
                f"cannot {what} on {self.safe_url}: {self._scrub(describe_error(exc))}"
            ) from exc
        channel = connection.channel()
        for entity in self._topology.entities():
            entity(channel).declare()
        return channel

    def _publisher(self, what: str = "connect") -> None:
        """Open the shared publishing connection if needed (caller holds the lock)."""
        if self._connection is not None:
            return
        connection = self._new_connection(consumer=False)
        try:
            channel = self._open(connection, what)
        except BaseException:
            _release(connection)
            raise
        self._connection = connection
        self._channel = channel
        self._producer = _kombu().Producer(channel, auto_declare=False)

    def _drop_publisher(self) -> None:
        connection, self._connection, self._channel, self._producer = self._connection, None, None, None
        if connection is not None:
            _release(connection)

    def _with_publisher(self, what: str, attempt: Callable[[], T]) -> T:
        """Run ``attempt`` on the publishing connection, reconnecting after a recoverable broker
        error, at most ``max(2, connect_retries)`` times (caller holds the lock)."""
        tries = max(2, self._connect_retries)
        last: BaseException | None = None
        for n in range(tries):
            try:
                return attempt()
            except BusUnavailable:
                self._drop_publisher()
                raise
            except self._broker_errors as exc:
                last = exc
                self._drop_publisher()
                if not isinstance(exc, self._recoverable):
                    break
                log.warning(
                    "bus operation failed; reconnecting",
                    url=self.safe_url,
                    error=self._scrub(describe_error(exc)),
                )
                if n + 1 < tries:
                    time.sleep(min(0.2 * (n + 1), 1.0))
        raise BusUnavailable(
            f"cannot {what} on {self.safe_url}: {self._scrub(describe_error(last or Exception('unknown')))}"
        ) from last

    def _engine(self) -> Engine:
        if self._sql_engine is None:
            url = _sql_url(self._url)
            args = {"timeout": 30} if make_url(url).get_backend_name() == "sqlite" else {}
            self._sql_engine = create_engine(url, connect_args=args)
        return self._sql_engine

    def _scrub(self, text: str) -> str:
        """``text`` without the URL's password, whatever library wrote it."""
        return text.replace(self._secret, "***") if self._secret else text


# ---------------------------------------------------------------------- reading messages


def read_delivery(message: Any, queue: str) -> tuple[Delivery | None, str | None]:
    """The Delivery in a kombu message, or None and why it cannot be handled."""
    headers = dict(message.headers or {})
    message_id = dict(message.properties or {}).get("message_id")
    if not isinstance(message_id, str) or not message_id:
        return None, "message has no message_id property"
    attempts = _int_header(headers.get("x-attempts", 0))
    if attempts is None:
        return None, f"x-attempts header {headers.get('x-attempts')!r} is not a non-negative integer"
    body, problem = decode_body(_raw_body(message))
    if body is None:
        return None, problem
    return Delivery(
        message_id=message_id,
        body=body,
        headers=headers,
        attempts=attempts,
        redelivered=_redelivered(message),
        queue=queue,
    ), None


def encode_body(body: dict[str, Any]) -> bytes:
    """``body`` as compact UTF-8 JSON; a one-line ValueError when it is no JSON object."""
    if not isinstance(body, dict):
        raise ValueError(f"message body must be a JSON object (dict), not {type(body).__name__}")
    try:
        return json.dumps(body, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")
    except (TypeError, ValueError) as exc:
        raise ValueError(f"message body is not JSON-serialisable: {one_line(exc)}") from None


def decode_body(raw: bytes) -> tuple[dict[str, Any] | None, str]:
    """The JSON object in ``raw``, or None and a readable reason."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, f"body is not UTF-8 text: {one_line(exc)}"
    try:
        value = json.loads(text)
    except ValueError as exc:
        return None, f"body is not valid JSON: {one_line(exc)} (starts {one_line(text, 60)!r})"
    if not isinstance(value, dict):
        return None, f"body is a JSON {type(value).__name__}, not an object"
    return value, ""


def _raw_body(message: Any) -> bytes:
    body = message.body
    if isinstance(body, str):
        return body.encode("utf-8")
    return bytes(body or b"")


def _redelivered(message: Any) -> bool:
    if (message.delivery_info or {}).get("redelivered"):
        return True
    # kombu's virtual transports flag a restored message on the raw payload, not delivery_info.
    raw = getattr(message, "_raw", None)
    return bool(isinstance(raw, dict) and raw.get("redelivered"))


def _int_header(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and value >= 0:
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def _browsed(message: Any, queue: str) -> Delivery:
    return _delivery_of(
        message_id=dict(message.properties or {}).get("message_id"),
        raw=_raw_body(message),
        headers=dict(message.headers or {}),
        redelivered=_redelivered(message),
        queue=queue,
    )


def _from_virtual_payload(payload: dict[str, Any], queue: str) -> Delivery:
    """A Delivery from a row of kombu's SQL transport (its JSON envelope of one message)."""
    properties = dict(payload.get("properties") or {})
    body = payload.get("body") or ""
    raw = body.encode("utf-8") if isinstance(body, str) else bytes(body)
    if properties.get("body_encoding") == "base64":
        raw = base64.b64decode(raw)
    return _delivery_of(
        message_id=properties.get("message_id"),
        raw=raw,
        headers=dict(payload.get("headers") or {}),
        redelivered=bool(payload.get("redelivered")),
        queue=queue,
    )


def _delivery_of(
    *, message_id: object, raw: bytes, headers: dict[str, Any], redelivered: bool, queue: str
) -> Delivery:
    body, _ = decode_body(raw)
    return Delivery(
        message_id=str(message_id or ""),
        body=body if body is not None else {"_raw": raw.decode("utf-8", errors="replace")},
        headers=headers,
        attempts=_int_header(headers.get("x-attempts", 0)) or 0,
        redelivered=redelivered,
        queue=queue,
    )


# ---------------------------------------------------------------------- small helpers


class _Backoff:
    """Reconnection delays: 0.5 s doubling to 5 s; ``rounds`` failures without progress end it."""

    def __init__(self, rounds: int) -> None:
        self._rounds = rounds
        self._failures = 0

    def next(self) -> float:
        self._failures += 1
        return min(0.5 * 2.0 ** (self._failures - 1), 5.0)

    def may_retry(self) -> bool:
        return self._failures < self._rounds

    def reset(self) -> None:
        self._failures = 0


def _run_idle(idle: Callable[[], None], queue: str) -> None:
    try:
        idle()
    except Exception as exc:  # a periodic job's bug must not stop the consumer
        log.error("idle job failed", queue=queue, error=describe_error(exc), exc_info=True)


def _release(connection: Any) -> None:
    _quietly(connection.release)


def _quietly(action: Callable[[], object]) -> None:
    """Run a clean-up step whose failure changes nothing (the connection is going anyway)."""
    try:
        action()
    except Exception as exc:
        log.debug("clean-up step failed", error=describe_error(exc))


def _check_message_id(message_id: str) -> str:
    if not isinstance(message_id, str) or not message_id.strip() or len(message_id) > 128:
        raise ValueError(
            f"message_id must be a non-empty string of at most 128 characters, not {message_id!r}"
        )
    return message_id


def _check_headers(headers: Mapping[str, HeaderValue] | None) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in (headers or {}).items():
        if not isinstance(key, str) or not key:
            raise ValueError(f"header names must be non-empty strings, not {key!r}")
        if value is not None and not isinstance(value, str | int | float | bool):
            raise ValueError(
                f"header {key!r} must be a string, number, boolean or None, not {type(value).__name__}"
            )
        result[key] = value
    return result


def _amqp_safe(headers: dict[str, Any]) -> dict[str, Any]:
    """Headers that any transport can carry again (datetimes from x-death become ISO text)."""

    def clean(value: Any) -> Any:
        if isinstance(value, datetime):
            return value.isoformat()
        if isinstance(value, dict):
            return {str(k): clean(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [clean(v) for v in value]
        if isinstance(value, bytes):
            return value.decode("utf-8", errors="replace")
        return value

    return {str(key): clean(value) for key, value in headers.items()}


def _check_positive(name: str, value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ValueError(f"{name} must be a positive number, not {value!r}")


def _check_non_negative(name: str, value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ValueError(f"{name} must be zero or more, not {value!r}")


def _check_positive_int(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a whole number of at least 1, not {value!r}")


def _prepare_sqlite_file(sql_url: str) -> None:
    """Create the queue file's folder and switch it to WAL once (the mode sticks to the file)."""
    url = make_url(sql_url)
    if url.get_backend_name() != "sqlite":
        return
    database = url.database or ""
    if not database or database == ":memory:" or database.startswith("file:"):
        raise ValueError(
            "a SQLite bus needs a file: use sqla+sqlite:////abs/path/queue.db (an in-memory "
            "database is private to one connection)"
        )
    path = Path(database)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Readers then never wait for a writer, which matters with consumers polling in a loop.
    with _closing_sqlite(path) as db:
        db.execute("PRAGMA journal_mode=WAL")


@contextmanager
def _closing_sqlite(path: Path) -> Iterator[sqlite3.Connection]:
    db = sqlite3.connect(path, timeout=30)
    try:
        yield db
    finally:
        db.close()


def _kombu() -> Any:
    """kombu's entry points, typed loosely: its classes carry no annotations."""
    return kombu


def _message_nacked() -> type[BaseException]:
    """py-amqp's error for a publish the broker refused under confirms (a broker error)."""
    try:
        from amqp.exceptions import MessageNacked  # type: ignore[import-untyped]
    except ImportError:  # pragma: no cover - amqp comes with kombu
        return KombuError
    return MessageNacked  # type: ignore[no-any-return]
