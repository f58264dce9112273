"""A Federation v2 composer: subgraph schemas in, a supergraph any federation gateway runs out.

Public API::

    from gateway.composition import SubgraphSource, compose
    result = compose([SubgraphSource("a", "http://a/graphql", sdl_a), ...])
    result.supergraph_sdl  # or result.errors
"""

from .compose import CompositionResult, compose
from .errors import CompositionError, CompositionHint
from .subgraph_model import SubgraphSource

__all__ = ["CompositionError", "CompositionHint", "CompositionResult", "SubgraphSource", "compose"]
