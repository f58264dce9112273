"""A listened-to Subscriber (the WebSocket edge's direct writes): events go straight to the listener while
its client takes writes, wait in the bounded queue while it does not (oldest dropped, then a notice, or
the subscriber ended with the disconnect policy), and the end of the stream comes after what is queued."""

from __future__ import annotations

from typing import Any

from gateway.contracts import GraphQLRequest, Principal
from gateway.subscriptions.messages import SubscriptionMessage, final
from gateway.subscriptions.stats import SubscriptionStats
from gateway.subscriptions.subscriber import Subscriber


class Client:
    """A listener whose client takes writes while ``open``."""

    def __init__(self) -> None:
        self.open = True
        self.got: list[Any] = []
        self.end: list[SubscriptionMessage | None] = []

    def deliver(self, message: SubscriptionMessage) -> bool:
        if not self.open:
            return False
        self.got.append(message.payload)
        return True

    def ended(self, message: SubscriptionMessage | None) -> None:
        self.end.append(message)


def subscriber(queue_size: int = 2, *, disconnect: bool = False) -> tuple[Subscriber, list[Subscriber]]:
    closed: list[Subscriber] = []
    made = Subscriber(
        request=GraphQLRequest(query="subscription { x }"),
        principal=Principal(),
        headers={},
        tenant=None,
        queue_size=queue_size,
        disconnect_slow=disconnect,
        stats=SubscriptionStats(),
        on_close=closed.append,
    )
    return made, closed


def event(n: int) -> SubscriptionMessage:
    return SubscriptionMessage({"data": {"n": n}})


def test_queued_before_listening_then_direct_then_held_while_the_client_is_behind() -> None:
    sub, _ = subscriber(queue_size=2)
    sub.push(event(1))  # before the edge listens (the operation is still being opened)
    client = Client()
    sub.listen(client)
    assert client.got == [{"data": {"n": 1}}]
    sub.push(event(2))
    assert client.got[-1] == {"data": {"n": 2}}
    client.open = False
    for n in (3, 4, 5):  # queue of 2: event 3 is dropped
        sub.push(event(n))
    assert len(client.got) == 2
    client.open = True
    sub.resume()
    dropped = client.got[2]["errors"][0]["extensions"]
    assert dropped["code"] == "SUBSCRIPTION_EVENTS_DROPPED" and dropped["dropped"] == 1
    assert client.got[3:] == [{"data": {"n": 4}}, {"data": {"n": 5}}]
    assert sub._stats.events_delivered == 4 and sub._stats.events_dropped == 1


def test_the_end_comes_after_what_is_queued() -> None:
    sub, closed = subscriber()
    client = Client()
    sub.listen(client)
    client.open = False
    sub.push(event(1))
    ending = final("over", "SUBSCRIPTION_LIFETIME_EXCEEDED")
    sub.finish(ending)
    assert client.end == [] and closed == [sub]  # detached at once, the client still gets what is queued
    client.open = True
    sub.resume()
    assert client.got == [{"data": {"n": 1}}] and client.end == [ending]
    sub.push(event(2))
    assert client.got == [{"data": {"n": 1}}]


def test_a_slow_client_is_disconnected_with_that_policy() -> None:
    sub, closed = subscriber(queue_size=1, disconnect=True)
    client = Client()
    sub.listen(client)
    client.open = False
    sub.push(event(1))
    sub.push(event(2))
    assert closed == [sub]
    client.open = True
    sub.resume()
    assert client.got == []
    assert client.end[0] is not None and client.end[0].payload["errors"][0]["extensions"]["code"] == (
        "SUBSCRIPTION_CONSUMER_TOO_SLOW"
    )


def test_closed_by_the_edge_nothing_more_is_handed_over() -> None:
    sub, closed = subscriber()
    client = Client()
    sub.listen(client)
    sub.close()
    sub.push(event(1))
    sub.finish(None)
    assert client.got == [] and client.end == [] and closed == [sub]
