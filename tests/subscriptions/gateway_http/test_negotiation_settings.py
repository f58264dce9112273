"""Which protocol an Accept header asks for, and the edge's subscription settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.http.streams import MULTIPART_PROTOCOL, SSE_PROTOCOL, StreamLimits, negotiate_stream
from gateway.settings import Settings, SettingsError


@pytest.mark.parametrize(
    ("accept", "protocol"),
    [
        ("text/event-stream", SSE_PROTOCOL),
        ("text/event-stream; charset=utf-8", SSE_PROTOCOL),
        ('multipart/mixed;subscriptionSpec="1.0", application/json', MULTIPART_PROTOCOL),
        ('multipart/mixed;boundary="graphql";subscriptionSpec=1.0,application/json', MULTIPART_PROTOCOL),
        ("multipart/mixed;deferSpec=20220824, application/json", None),  # incremental delivery: not served
        ("application/json", None),
        ("application/graphql-response+json, application/json;q=0.9", None),
        ("*/*", None),
        ("", None),
        (None, None),
        ("text/event-stream;q=0, application/json", None),
        ("text/event-stream;q=0.5, multipart/mixed;subscriptionSpec=1.0", MULTIPART_PROTOCOL),
        ("text/event-stream, multipart/mixed;subscriptionSpec=1.0", SSE_PROTOCOL),  # a tie: the first named
    ],
)
def test_negotiate_stream(accept: str | None, protocol: str | None) -> None:
    assert negotiate_stream(accept) == protocol


def test_settings_from_yaml_and_environment(tmp_path: Path) -> None:
    config = tmp_path / "gateway.yaml"
    config.write_text("subscriptions:\n  init_timeout: 3\n  max_per_connection: 7\n  send_timeout: 2.5\n")
    settings = Settings.load(config, environ={"GATEWAY_SUBSCRIPTIONS_HEARTBEAT_INTERVAL": "1.5"})
    limits = StreamLimits.from_settings(settings)
    assert limits == StreamLimits(
        init_timeout=3.0,
        max_per_connection=7,
        max_frame_bytes=262_144,
        heartbeat_interval=1.5,
        ping_interval=15.0,
        send_timeout=2.5,
        max_connection_lifetime=0.0,
    )
    assert StreamLimits.from_settings(Settings()) == StreamLimits()


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"subscriptions_send_timeout": -1}, "subscriptions.send_timeout: must be 0 (off) or positive"),
        ({"subscriptions_max_per_connection": "many"}, "subscriptions.max_per_connection: cannot use 'many'"),
        ({"subscriptions_max_frame_bytes": True}, "subscriptions.max_frame_bytes: cannot use True"),
    ],
)
def test_bad_settings_are_named(values: dict[str, object], message: str) -> None:
    with pytest.raises(SettingsError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Settings.from_mapping(values)


def test_unknown_key_in_the_section_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "gateway.yaml"
    config.write_text("subscriptions:\n  init_timout: 3\n")
    with pytest.raises(SettingsError, match="init_timout"):
        Settings.load(config, environ={})
