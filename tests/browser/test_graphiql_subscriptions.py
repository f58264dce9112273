"""A subscription from GraphiQL in Chromium: graphql-transport-ws on the gateway's own /graphql, through
the gateway to a subgraph that streams events, each shown in the result pane as it arrives.

The subgraphs are the subscription tests' stand-ins (``stock`` streams ``itemChanged``, ``prices``
adds ``Item.price`` to each event); the DPP subgraphs' subscriptions are not in the supergraph yet.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest

from gateway.serve import build_app, build_server
from gateway.settings import Settings
from tests.browser.cdp import Page
from tests.subscriptions.gateway_core.stubs import Broker, prices_server, stock_server, supergraph
from tests.support.servers import ServerThread

from .test_graphiql_browser import RESULT, _once, _open, _outside_loopback

SUBSCRIPTION = 'subscription Watch {\n  itemChanged(id: "1") {\n    id\n    name\n    price\n  }\n}\n'


@dataclass(frozen=True)
class Streaming:
    gateway: str
    broker: Broker


@pytest.fixture(scope="module")
def streaming(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Streaming]:
    broker = Broker()
    stock, prices = stock_server(broker).start(), prices_server().start()
    try:
        path = tmp_path_factory.mktemp("graphiql-subscriptions") / "supergraph.graphql"
        path.write_text(supergraph(stock.url, prices.url))
        settings = Settings.from_mapping(
            {"supergraph": path, "graphiql": True, "poll_interval": 0, "log_level": "warning"}
        )
        app = build_app(settings)
        with ServerThread(app, build_server(settings, app)) as gateway:
            yield Streaming(gateway.url, broker)
    finally:
        stock.stop()
        prices.stop()


def test_subscription_events_show_up_in_the_result_pane(streaming: Streaming, browser: Page, tmp_path: Path) -> None:
    _open(browser, f"{streaming.gateway}/graphql?query={quote(SUBSCRIPTION)}")
    before = streaming.broker.subscribed
    browser.evaluate("document.querySelector('.graphiql-execute-button').click()")
    browser.until(lambda: streaming.broker.active > 0 and streaming.broker.subscribed > before, what="upstream")
    streaming.broker.publish("1", "first edition")
    first = browser.wait_for(_once(RESULT, "first edition"), what="the first event")
    assert '"price": 9.5' in first  # joined from the prices subgraph by the gateway, per event
    streaming.broker.publish("1", "second edition")
    browser.wait_for(_once(RESULT, "second edition"), what="the second event")
    sockets = [e["params"]["url"] for e in browser.events if e["method"] == "Network.webSocketCreated"]
    assert sockets == [streaming.gateway.replace("http", "ws") + "/graphql"]
    assert _outside_loopback(browser.requested_urls()) == []
    assert browser.problems() == []
    # The stop button completes the subscription on the socket (the gateway keeps its upstream a few
    # seconds for resumption, so the stand-in subgraph is not waited for).
    browser.evaluate("document.querySelector('.graphiql-execute-button').click()")
    browser.until(lambda: any('"complete"' in frame for frame in _frames_sent(browser)), what="complete")


def _frames_sent(page: Page) -> list[str]:
    return [
        str(e["params"]["response"].get("payloadData", ""))
        for e in page.events
        if e["method"] == "Network.webSocketFrameSent"
    ]
