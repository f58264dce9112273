"""Token verification for the gateway and every subgraph: JWTs of trusted OIDC issuers, checked against their JWKS.

```python
from tokenauth import IssuerConfig, TokenVerifier, InvalidToken

verifier = TokenVerifier([IssuerConfig("http://127.0.0.1:4001", audiences=("dpp",))])
token = await verifier.verify(raw)   # VerifiedToken, or InvalidToken("Invalid or expired token")
```

The caller's current state (roles, membership, policies) comes from identity through
:class:`tokenauth.context.CallerContextClient`.
"""

from tokenauth.config import IssuerConfig
from tokenauth.context import CallerContext, CallerContextClient, ContextSource
from tokenauth.errors import INVALID_TOKEN_MESSAGE, ContextUnavailable, InvalidToken, IssuerUnavailable, NotAMember
from tokenauth.verifier import TokenVerifier, VerifiedToken

__all__ = [
    "INVALID_TOKEN_MESSAGE",
    "CallerContext",
    "CallerContextClient",
    "ContextSource",
    "ContextUnavailable",
    "InvalidToken",
    "IssuerConfig",
    "IssuerUnavailable",
    "NotAMember",
    "TokenVerifier",
    "VerifiedToken",
]
