"""The Prometheus endpoint, scraped over HTTP and read with the client's parser."""

from __future__ import annotations

import os
import urllib.error
import urllib.request
from typing import TYPE_CHECKING, Any

import pytest
from process_actors import ProcessTally, ThreadTally
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

import pykka_rs as pykka

if TYPE_CHECKING:
    from pathlib import Path


def scrape(url: str) -> dict[str, list[Any]]:
    """The samples of every family at `url`, by family name."""
    with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 (our own http URL)
        assert response.headers["Content-Type"].startswith("text/plain")
        text = response.read().decode()
    return {
        family.name: family.samples for family in text_string_to_metric_families(text)
    }


def value(samples: list[Any], name: str, **labels: str) -> float:
    found = [
        s.value
        for s in samples
        if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
    ]
    assert len(found) == 1, (name, labels, samples)
    return float(found[0])


def check_channel(
    families: dict[str, Any],
    name: str,
    *,
    waiting: int,
    peak: int,
    capacity: int,
    sent: int,
    taken: int,
) -> None:
    """The channel families say what the channel `name` of process 0 holds."""
    labels = {"channel": name, "process": "0"}
    for family, sample, expected in [
        ("items_waiting", "items_waiting", waiting),
        ("items_high_water", "items_high_water", peak),
        ("capacity", "capacity", capacity),
        ("items_sent", "items_sent_total", sent),
        ("items_received", "items_received_total", taken),
    ]:
        samples = families[f"pykka_rs_channel_{family}"]
        assert value(samples, f"pykka_rs_channel_{sample}", **labels) == expected


def test_the_endpoint_serves_every_actors_depth_and_counts(tmp_path: Path) -> None:
    refs = [ThreadTally.start(), ProcessTally.start()]
    channel: pykka.Channel[int] = pykka.Channel(4, name="scraped")
    channel.send(1)
    channel.send(2)
    channel.send(3)
    channel.receive()
    # A proxy to a process actor asks it what it has: one message more.
    proxies = [ref.proxy() for ref in refs]
    base = {a.actor_urn: a for a in pykka.stats().actors}
    for ref in refs:
        ref.ask("counted")
        with pytest.raises(ValueError, match="asked to fail"):
            ref.ask("fail")
    gates = [tmp_path / "thread", tmp_path / "process"]
    for gate in gates:
        os.mkfifo(gate)
    blocked = [
        proxy.block(str(gate)) for proxy, gate in zip(proxies, gates, strict=True)
    ]
    writers = [gate.open("wb") for gate in gates]
    for ref, count in zip(refs, (4, 2), strict=True):
        for i in range(count):
            ref.tell(i)
    server = pykka.serve_metrics()
    try:
        assert server.url == f"http://127.0.0.1:{server.port}/metrics"
        families = scrape(server.url)
    finally:
        server.close()
        for writer in writers:
            writer.write(b"!")
            writer.close()
        for future in blocked:
            future.get(timeout=30)

    snapshot_processes = {0} | {w.process for w in pykka.stats().workers}
    for ref, waiting in zip(refs, (4, 2), strict=True):
        labels = {"urn": ref.actor_urn}
        was = base[ref.actor_urn]
        assert (
            value(
                families["pykka_rs_actor_messages_waiting"],
                "pykka_rs_actor_messages_waiting",
                **labels,
            )
            == waiting
        )
        # "counted" and "fail", then block() is under way.
        handled = families["pykka_rs_actor_messages_handled"]
        failed = families["pykka_rs_actor_messages_failed"]
        sent = families["pykka_rs_actor_messages_sent"]
        handling = families["pykka_rs_actor_handling_seconds"]
        assert value(handled, handled[0].name, **labels) == was.handled + 1
        assert value(failed, failed[0].name, **labels) == 1
        assert value(sent, sent[0].name, **labels) == was.sent + 3 + waiting
        count = value(handling, "pykka_rs_actor_handling_seconds_count", **labels)
        assert count == was.timed + 2
        p99 = value(
            handling, "pykka_rs_actor_handling_seconds", quantile="0.99", **labels
        )
        total = value(handling, "pykka_rs_actor_handling_seconds_sum", **labels)
        # A percentile is its bucket's midpoint: within 1/16 of a real time.
        assert 0 < p99 <= total * 17 / 16
    cpu = families["pykka_rs_process_cpu_seconds"]
    assert {int(s.labels["process"]) for s in cpu} == snapshot_processes
    assert all(s.value > 0 for s in cpu)
    assert value(families["pykka_rs_dead_letters"], "pykka_rs_dead_letters_total") >= 0
    channel_labels = {"channel": "scraped", "process": "0"}
    for family, name, expected in [
        ("items_waiting", "items_waiting", 2),
        ("items_high_water", "items_high_water", 3),
        ("capacity", "capacity", 4),
        ("items_sent", "items_sent_total", 3),
        ("items_received", "items_received_total", 1),
    ]:
        samples = families[f"pykka_rs_channel_{family}"]
        assert value(samples, f"pykka_rs_channel_{name}", **channel_labels) == expected
    for ref in refs:
        ref.stop()


def test_after_close_nothing_listens_on_the_port() -> None:
    server = pykka.serve_metrics()
    scrape(server.url)
    server.close()
    with pytest.raises(urllib.error.URLError):
        scrape(server.url)


def test_the_collector_goes_into_a_registry_of_the_programs_own() -> None:
    ref = ThreadTally.start()
    registry = CollectorRegistry()
    registry.register(pykka.StatsCollector())
    text = generate_latest(registry).decode()
    assert f'urn="{ref.actor_urn}"' in text
    ref.stop()


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "::", "example.com"])  # noqa: S104
def test_only_loopback_addresses_are_served(host: str) -> None:
    with pytest.raises(ValueError, match="loopback"):
        pykka.serve_metrics(host=host)


@pytest.mark.parametrize(
    ("port", "error"),
    [(-1, ValueError), (70000, ValueError), ("80", TypeError), (True, TypeError)],
)
def test_a_bad_port_is_refused_at_the_call(port: Any, error: type[Exception]) -> None:
    with pytest.raises(error, match="port must be"):
        pykka.serve_metrics(port=port)


def test_ipv6_loopback_is_served() -> None:
    try:
        server = pykka.serve_metrics(host="::1")
    except OSError as exc:  # a machine without IPv6
        pytest.skip(f"no IPv6 loopback here: {exc}")
    try:
        assert "pykka_rs_dead_letters" in scrape(server.url)
    finally:
        server.close()
