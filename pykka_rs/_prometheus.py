"""The system's statistics for Prometheus, through `prometheus_client`.

`StatsCollector` is a custom collector: each scrape takes one `stats()`
snapshot and turns it into metric families, so nothing is kept between
scrapes and nothing runs between them. `serve_metrics()` serves it on a
local HTTP endpoint with the client library's own server; a program that
already serves metrics registers the collector in its own registry instead.
Needs the optional extra `pykka_rs[prometheus]`.

Metrics (actor labels: `actor` (class name), `urn`, `process`):

- `pykka_rs_actor_messages_waiting`, `pykka_rs_actor_messages_high_water` (gauges),
- `pykka_rs_actor_messages_sent_total`, `..._handled_total`, `..._failed_total`,
  `..._dropped_total` (counters),
- `pykka_rs_actor_handling_seconds` (summary of the timed messages:
  quantiles 0.5, 0.9, 0.99 over the actor's life, `_count`, `_sum`),
- `pykka_rs_actor_busy_seconds_total` (counter: time spent handling),
- `pykka_rs_process_cpu_seconds_total`, `pykka_rs_process_resident_memory_bytes`,
  `pykka_rs_process_actors` (label `process`: 0 for the program's own),
- `pykka_rs_worker_restarts_total` (label `seat`),
- `pykka_rs_dead_letters_total`,
- `pykka_rs_channel_items_waiting`, `..._high_water`, `..._capacity`
  (gauges), `..._sent_total`, `..._received_total` (label `channel`).
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING, Any

from pykka_rs._stats import SystemStats, stats

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from threading import Thread
    from wsgiref.simple_server import WSGIServer

    from prometheus_client.metrics_core import Metric

__all__ = ["MetricsServer", "StatsCollector", "serve_metrics"]

ACTOR_LABELS = ["actor", "urn", "process"]
QUANTILES = (("0.5", "p50"), ("0.9", "p90"), ("0.99", "p99"))


def _family(kind: str, name: str, text: str, labels: list[str]) -> Any:
    """A metric family of `prometheus_client` (imported only when scraped)."""
    from prometheus_client import core  # noqa: PLC0415 (optional dependency)

    return getattr(core, f"{kind}MetricFamily")(name, text, labels=labels)


def _actor_families(snapshot: SystemStats) -> list[Any]:
    from prometheus_client.samples import Sample  # noqa: PLC0415

    def family(kind: str, name: str, text: str) -> Any:
        return _family(kind, f"pykka_rs_actor_{name}", text, ACTOR_LABELS)

    waiting = family("Gauge", "messages_waiting", "Messages waiting in the mailbox.")
    high = family("Gauge", "messages_high_water", "The most messages ever waiting.")
    sent = family("Counter", "messages_sent", "Messages the mailbox accepted.")
    handled = family("Counter", "messages_handled", "Messages handled without error.")
    failed = family("Counter", "messages_failed", "Messages whose handling raised.")
    dropped = family("Counter", "messages_dropped", "Messages told, never handled.")
    handling = family("Summary", "handling_seconds", "Time to handle one message.")
    busy = family("Counter", "busy_seconds", "Time spent handling messages.")
    for actor in snapshot.actors:
        labels = [actor.actor_class, actor.actor_urn, str(actor.process)]
        waiting.add_metric(labels, actor.waiting)
        high.add_metric(labels, actor.high_water)
        sent.add_metric(labels, actor.sent)
        handled.add_metric(labels, actor.handled)
        failed.add_metric(labels, actor.failed)
        dropped.add_metric(labels, actor.dropped)
        named = dict(zip(ACTOR_LABELS, labels, strict=True))
        for quantile, field in QUANTILES:
            value = getattr(actor, field)
            if value is not None:
                quantiled = {**named, "quantile": quantile}
                handling.samples.append(
                    Sample(handling.name, quantiled, value, None, None, None)
                )
        handling.add_metric(labels, actor.timed, actor.timed_seconds)
        busy.add_metric(labels, actor.busy)
    return [waiting, high, sent, handled, failed, dropped, handling, busy]


def _process_families(snapshot: SystemStats) -> list[Any]:
    label = ["process"]
    cpu = _family(
        "Counter", "pykka_rs_process_cpu_seconds", "CPU time of the process.", label
    )
    rss = _family(
        "Gauge", "pykka_rs_process_resident_memory_bytes", "Resident memory.", label
    )
    count = _family("Gauge", "pykka_rs_process_actors", "Actors running.", label)
    per_process: dict[int, int] = {}
    for actor in snapshot.actors:
        per_process[actor.process] = per_process.get(actor.process, 0) + 1
    processes = [(0, snapshot.cpu_seconds, snapshot.rss_bytes)]
    processes += [(w.process, w.cpu_seconds, w.rss_bytes) for w in snapshot.workers]
    for process, seconds, resident in processes:
        cpu.add_metric([str(process)], seconds)
        if resident is not None:
            rss.add_metric([str(process)], resident)
        count.add_metric([str(process)], per_process.get(process, 0))
    restarts = _family(
        "Counter",
        "pykka_rs_worker_restarts",
        "Workers of the seat that died or hung and were replaced.",
        ["seat"],
    )
    for worker in snapshot.workers:
        restarts.add_metric([str(worker.seat)], worker.restarts)
    dead = _family(
        "Counter", "pykka_rs_dead_letters", "Messages that reached no actor.", []
    )
    dead.add_metric([], snapshot.dead_letters)
    return [cpu, rss, count, restarts, dead]


def _channel_families(snapshot: SystemStats) -> list[Any]:
    def family(kind: str, name: str, text: str) -> Any:
        return _family(kind, f"pykka_rs_channel_{name}", text, ["channel", "process"])

    items = family("Gauge", "items_waiting", "Items in the channel, not received.")
    peak = family("Gauge", "items_high_water", "The most items ever in the channel.")
    capacity = family("Gauge", "capacity", "The most items the channel holds.")
    put = family("Counter", "items_sent", "Items the channel accepted.")
    taken = family("Counter", "items_received", "Items taken out of the channel.")
    for channel in snapshot.channels:
        labels = [channel.name, str(channel.process)]
        items.add_metric(labels, channel.waiting)
        peak.add_metric(labels, channel.high_water)
        capacity.add_metric(labels, channel.capacity)
        put.add_metric(labels, channel.sent)
        taken.add_metric(labels, channel.received)
    return [items, peak, capacity, put, taken]


class StatsCollector:
    """A `prometheus_client` collector of `pykka_rs.stats()`.

    Register it in any `CollectorRegistry`:
    `prometheus_client.REGISTRY.register(pykka_rs.StatsCollector())`.
    Each scrape takes one snapshot.
    """

    def __init__(self, source: Callable[[], SystemStats] = stats) -> None:
        """Collect the snapshots `source` takes (`pykka_rs.stats` by default)."""
        self._source = source

    def describe(self) -> list[Metric]:
        """Nothing: the registry then takes no snapshot when registering."""
        return []

    def collect(self) -> Iterator[Metric]:
        """The metric families of one snapshot."""
        snapshot = self._source()
        yield from _actor_families(snapshot)
        yield from _process_families(snapshot)
        yield from _channel_families(snapshot)


class MetricsServer:
    """The endpoint `serve_metrics()` started."""

    def __init__(self, server: WSGIServer, thread: Thread, host: str) -> None:
        self._server = server
        self._thread = thread
        self.host = host
        """The address it listens on."""
        self.port: int = server.server_port
        """The port it listens on (the one chosen, if 0 was asked for)."""

    @property
    def url(self) -> str:
        """Where Prometheus scrapes it."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/metrics"

    def close(self) -> None:
        """Stop serving and release the port."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def __repr__(self) -> str:
        return f"<pykka_rs MetricsServer at {self.url}>"


def _loopback(host: str) -> None:
    if host == "localhost":
        return
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        msg = f"host must be a loopback address such as 127.0.0.1 or ::1, not {host!r}"
        raise ValueError(msg) from None
    if not address.is_loopback:
        msg = (
            f"host must be a loopback address such as 127.0.0.1 or ::1, not {host}: "
            "the endpoint has no authentication, so it serves this machine only"
        )
        raise ValueError(msg)


def serve_metrics(port: int = 0, host: str = "127.0.0.1") -> MetricsServer:
    """Serve `stats()` to Prometheus on `http://host:port/metrics`.

    Off until called. Only loopback addresses are accepted: the endpoint has
    no authentication, so any user of this machine can read it (the actors'
    class names and URNs, the depths); expose it further through a proxy
    that authenticates, if need be. Each scrape takes one snapshot. Needs
    `prometheus_client` (`pip install 'pykka_rs[prometheus]'`).

    Args:
        port: the TCP port; 0 picks a free one (see `MetricsServer.port`)
        host: a loopback address: 127.0.0.1 (the default), ::1 or localhost

    Returns:
        the running server; `close()` stops it

    Raises:
        ValueError: for a host that is not a loopback address, or a port
            outside 0 to 65535
        TypeError: for a port that is not an int
        ImportError: if prometheus_client is not installed
        OSError: if the port cannot be had
    """
    if isinstance(port, bool) or not isinstance(port, int):
        msg = f"port must be an int, not {type(port).__name__}"
        raise TypeError(msg)
    if not 0 <= port <= 65535:
        msg = f"port must be 0 to 65535, not {port}"
        raise ValueError(msg)
    if not isinstance(host, str):
        msg = f"host must be a str, not {type(host).__name__}"
        raise TypeError(msg)
    _loopback(host)
    try:
        from prometheus_client import (  # noqa: PLC0415 (optional dependency)
            CollectorRegistry,
            start_http_server,
        )
    except ImportError as exc:
        msg = (
            "serving metrics needs the prometheus_client package: "
            "pip install 'pykka_rs[prometheus]' (or pip install prometheus_client)"
        )
        raise ImportError(msg) from exc
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StatsCollector())
    server, thread = start_http_server(port, addr=host, registry=registry)
    return MetricsServer(server, thread, host)
