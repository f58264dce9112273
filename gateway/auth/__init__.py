"""The gateway's authentication stage, tenant context and per-tenant rate limits.

``gateway.auth.stage`` turns a request's bearer token (and ``X-Tenant-ID``) into a
:class:`gateway.contracts.Principal` through :mod:`tokenauth`; ``gateway.auth.ratelimit``
counts requests per tenant (by tenant class) or per client address, in memory or in Redis;
``gateway.auth.config`` reads the issuer settings. Import the submodules directly: this
package imports nothing, so :mod:`gateway.settings` can use ``gateway.auth.config``.
"""
