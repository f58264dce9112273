"""Apollo's multipart HTTP subscriptions: ``Accept: multipart/mixed;subscriptionSpec="1.0"``.

The response is ``multipart/mixed;boundary="graphql";subscriptionSpec="1.0"``; every part is
``content-type: application/json``:

- an event: ``{"payload": <execution result>}``;
- a heartbeat every ``subscriptions.heartbeat_interval`` seconds while idle: ``{}``;
- a transport-level error, which ends the subscription (token expired, lifetime reached, the
  subgraph subscription cannot be kept, a refused request): ``{"payload": null, "errors": [...]}``.

The closing delimiter ``--graphql--`` ends the response. A query or mutation sent this way gets
its one result as a payload part.
"""

from __future__ import annotations

import orjson

from gateway.http.streams import MULTIPART_MIXED, MULTIPART_PROTOCOL
from gateway.subscriptions.messages import SubscriptionMessage

BOUNDARY = "graphql"
_PART = b"\r\n--" + BOUNDARY.encode() + b"\r\ncontent-type: application/json\r\n\r\n"


class MultipartFraming:
    """Writes messages as Apollo multipart subscription parts."""

    protocol = MULTIPART_PROTOCOL
    content_type = f'{MULTIPART_MIXED};boundary="{BOUNDARY}";subscriptionSpec="1.0"'

    def message(self, message: SubscriptionMessage) -> bytes:
        """A payload part; a final message without data is a transport-level error part."""
        payload = message.payload
        if message.final and payload.get("data") is None and payload.get("errors"):
            body = {"payload": None, "errors": payload["errors"]}
        else:
            body = {"payload": payload}
        return _PART + orjson.dumps(body)

    def heartbeat(self) -> bytes:
        """An empty JSON object part."""
        return _PART + b"{}"

    def end(self) -> bytes:
        """The closing delimiter."""
        return b"\r\n--" + BOUNDARY.encode() + b"--\r\n"
