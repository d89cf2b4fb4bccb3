"""Talking to Neo4j: a verified driver, one-line errors, sessions that close cleanly, Ctrl-C, retries."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from .. import server
from ..errors import StoreError

__all__ = ["open_driver", "store_errors", "closing_session", "run_write", "run_write_returning", "run_read", "retried", "RETRY_SECONDS"]

# The driver logs connection failures and server notifications at WARNING/ERROR; with no logging
# configured, Python would print them on stderr next to our one-line error. Applications that
# configure logging still receive them (records propagate to their handlers).
logging.getLogger("neo4j").addHandler(logging.NullHandler())


@contextmanager
def open_driver(connection: server.Connection | None = None) -> Iterator[tuple[object, server.Connection]]:
    """A verified driver for ``connection`` (default :func:`server.connection`) and the connection.

    Unreachable servers and refused credentials become one-line :class:`StoreError`s.
    """
    import neo4j

    conn = connection or server.connection()
    try:
        # The load's id() lookups are deliberate (cypher/load.cypher); without this the
        # driver logs a deprecation warning to stderr for every statement that uses them.
        driver = neo4j.GraphDatabase.driver(
            conn.uri,
            auth=(conn.username, conn.password),
            notifications_disabled_classifications=[neo4j.NotificationDisabledClassification.DEPRECATION],
        )
    except ValueError as exc:
        raise StoreError(f"bad Neo4j URI {conn.uri!r}: {exc}") from None
    try:
        with store_errors(conn):
            driver.verify_connectivity()
        yield driver, conn
    finally:
        driver.close()


@contextmanager
def store_errors(conn: server.Connection):
    """Turn the driver's errors into one-line StoreErrors that say where and what."""
    import neo4j.exceptions as nx

    hint = " (is it running? `graphsleuth neo4j start`)" if conn.local else ""
    try:
        yield
    except nx.AuthError:
        raise StoreError(f"Neo4j at {conn.uri} refused user {conn.username!r}: check NEO4J_USERNAME/NEO4J_PASSWORD") from None
    except (nx.ServiceUnavailable, nx.SessionExpired, ConnectionError, OSError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise StoreError(f"lost the connection to Neo4j at {conn.uri}{hint}: {first}") from None
    except nx.Neo4jError as exc:
        raise StoreError(f"Neo4j refused the operation: {exc.code}: {(exc.message or '').splitlines()[0] if exc.message else ''}") from None


@contextmanager
def closing_session(driver, database: str):
    """A session that, when the block fails or is interrupted, closes without waiting or raising again.

    Ctrl-C can land while the driver reads a reply, leaving it mid-message. The
    session's own close drains the connection first: it then either fails with
    an unrelated error (BufferError) that would hide the interrupt, or waits
    forever for replies the server has already sent. So the driver is closed
    first (its connections say goodbye and close their sockets, reading
    nothing), and the session's close finds its connection gone. The block's
    exception is the one that counts.
    """
    session = driver.session(database=database)
    try:
        yield session
    except BaseException:
        try:
            driver.close()
            session.close()
        except Exception:  # noqa: BLE001 - secondary to the exception being raised
            pass
        raise
    session.close()


def run_write(session, cypher: str, tx_metadata: dict | None = None, **params):
    """Run one write in a managed transaction (retried on transient errors); its counters.

    ``tx_metadata`` goes with the transaction, where SHOW TRANSACTIONS finds it.
    """

    def work(tx):
        return tx.run(cypher, **params).consume().counters

    return session.execute_write(_tagged(work, tx_metadata))


def run_write_returning(session, cypher: str, tx_metadata: dict | None = None, **params):
    """Run one write that returns one record, as :func:`run_write`; its counters and that record."""

    def work(tx):
        result = tx.run(cypher, **params)
        record = result.single(strict=True)
        return result.consume().counters, record

    return session.execute_write(_tagged(work, tx_metadata))


def _tagged(work, tx_metadata: dict | None):
    """``work`` with ``tx_metadata`` attached to its transaction, if there is any."""
    if not tx_metadata:
        return work
    import neo4j

    return neo4j.unit_of_work(metadata=tx_metadata)(work)


def run_read(session, cypher: str, **params) -> list[dict]:
    def work(tx):
        return [record.data() for record in tx.run(cypher, **params)]

    return session.execute_read(work)


RETRY_SECONDS = 30.0


def retried(attempt, stop: threading.Event | None = None):
    """``attempt()``, run again after transient errors (a deadlock) and lost connections.

    Failures in a row are retried for up to :data:`RETRY_SECONDS`. An attempt
    that ran that long before it failed (a deadlock with a concurrent load late
    in a big step, say) has committed batches, so the retry starts a new budget:
    a long statement is never given up on for one late transient error. Once
    ``stop`` is set, nothing is retried.
    """
    import neo4j.exceptions as nx

    budget_began = time.monotonic()
    delay = 0.5
    while True:
        attempt_began = time.monotonic()
        try:
            return attempt()
        except (nx.Neo4jError, nx.DriverError) as exc:
            now = time.monotonic()
            if now - attempt_began >= RETRY_SECONDS:
                budget_began, delay = now, 0.5
            if not exc.is_retryable() or now + delay > budget_began + RETRY_SECONDS or _stopped_within(stop, delay):
                raise
        delay = min(delay * 2, 5.0)


def _stopped_within(stop: threading.Event | None, seconds: float) -> bool:
    """Wait ``seconds``; True if ``stop`` was set meanwhile."""
    if stop is None:
        time.sleep(seconds)
        return False
    return stop.wait(seconds)
