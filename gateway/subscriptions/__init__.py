"""GraphQL subscriptions through the gateway: planning's primary fetch becomes a shared
``graphql-transport-ws`` subscription to the owning subgraph; each event is completed by the
executor and fanned out to the client streams the edge (gateway/http) serves.

Public API (the edge's): :class:`Subscriptions` (``open`` / ``aclose``), :class:`SubscriptionMessage`,
:class:`SubscriptionRejected`, :class:`SubscriptionStream`.
"""

from gateway.subscriptions.config import SubscriptionConfig
from gateway.subscriptions.messages import SubscriptionMessage, SubscriptionRejected, SubscriptionStream
from gateway.subscriptions.service import Subscriptions
from gateway.subscriptions.stats import SubscriptionStats

__all__ = [
    "SubscriptionConfig",
    "SubscriptionMessage",
    "SubscriptionRejected",
    "SubscriptionStats",
    "SubscriptionStream",
    "Subscriptions",
]
