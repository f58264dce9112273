"""Which buffered events a Last-Event-ID resume replays, and when the client is told some may be missing."""

from __future__ import annotations

from gateway.subscriptions.fanout import _after, _bus_id

ENTRIES = [(3, "1700000000000-2", b"{}"), (4, "1700000000005-0", b"{}"), (5, "1700000000005-1", b"{}")]


def test_bus_ids_are_read_from_the_event_extensions() -> None:
    assert _bus_id({"data": {}, "extensions": {"event": {"id": "1700000000005-1"}}}) == "1700000000005-1"
    payloads: tuple[dict[str, object], ...] = (
        {"data": {}}, {"extensions": {"event": {"id": "x"}}}, {"extensions": "no"}, {"extensions": {}})
    for payload in payloads:
        assert _bus_id(payload) is None


def test_a_bus_id_older_than_the_buffer_replays_the_newer_events_and_warns() -> None:
    newer, complete = _after(ENTRIES, "1699999999999-7", "abcd0123", 5)
    assert [e[0] for e in newer] == [3, 4, 5] and not complete
    newer, complete = _after(ENTRIES, "1700000000001-0", "abcd0123", 5)  # between two buffered ids
    assert [e[0] for e in newer] == [4, 5] and not complete


def test_an_id_of_no_known_form_replays_nothing_and_warns() -> None:
    assert _after(ENTRIES, "somebody-else's", "abcd0123", 5) == ([], False)
    assert _after(ENTRIES, "ffff0000.2", "abcd0123", 5) == ([], False)  # another stream's numbering


def test_own_numbering_knows_whether_anything_is_missing() -> None:
    own = [(1, "abcd0123.1", b"{}"), (2, "abcd0123.2", b"{}")]
    assert _after(own[1:], "abcd0123.1", "abcd0123", 2) == (own[1:], True)  # 2 follows 1: nothing missing
    assert _after(own[1:], "abcd0123.0", "abcd0123", 2)[1] is False  # 1 fell out of the buffer
    assert _after(own, "abcd0123.2", "abcd0123", 2) == ([], True)
