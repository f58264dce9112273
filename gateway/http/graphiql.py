"""GraphiQL for browsers: ``GET /graphql`` with ``Accept: text/html`` answers an IDE page.

Everything the page loads comes from the gateway itself, never from a CDN: the React and
GraphiQL browser bundles that ``make install`` installs from the npm registry (pinned with
their integrity in ``web/graphiql/package-lock.json``) into ``<venv>/share/graphiql``, read
once, and served under ``/graphiql/assets/<digest>/`` with long-lived caching (the digest
changes with the files). The page's Content-Security-Policy allows scripts, styles and
connections from the gateway's own origin only, so a page that tried to load anything from
elsewhere would be refused by the browser.

On when ``Settings.graphiql_enabled`` (development by default, off in production); when
off, the ``/graphql`` handler is left untouched and browsers get what every client gets.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import sys
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from gateway.http.negotiation import APPLICATION_JSON, GRAPHQL_RESPONSE_JSON, media_ranges
from gateway.settings import Settings

logger = logging.getLogger("gateway.http.graphiql")

Handler = Callable[[Request], Awaitable[Response]]

ASSETS_PATH = "/graphiql/assets"
TEXT_HTML = "text/html"
# Scripts, stylesheets and connections (fetch, and WebSocket for subscriptions) from this origin only;
# GraphiQL's fonts and icons are data: URIs inside its stylesheet; nothing may frame the page. Inline
# styles are allowed (not inline scripts): GraphiQL's dialogs add a <style> element whose content
# depends on the scrollbar's width, so no hash can name it.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; font-src 'self' data:; "
    "img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
_PAGE_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "vary": "accept",
}
_IMMUTABLE = "public, max-age=31536000, immutable"
_JS = "text/javascript; charset=utf-8"
_CSS = "text/css; charset=utf-8"

DEFAULT_QUERY = """# The DPP gateway. Public data needs no token; for your
# tenant's data, run the login mutation (demo accounts:
# README) and put its accessToken in Headers below:
#   {"Authorization": "Bearer <accessToken>"}
# The book icon (top left) opens the schema explorer.

query Categories {
  categories {
    id
    name
  }
}
"""

# The script that starts GraphiQL: a file of its own, since the policy allows no inline script.
# It reads its settings from the page's JSON block, and a link may prefill the editors
# (?query=...&variables=...&headers=...&operationName=...); nothing runs until the user asks.
_INIT_JS = """(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("graphiql-config").textContent);
  var params = new URLSearchParams(window.location.search);
  var url = window.location.origin + window.location.pathname;
  var fetcher = GraphiQL.createFetcher({
    url: url,
    subscriptionUrl: url.replace(/^http/, "ws")
  });
  var root = ReactDOM.createRoot(document.getElementById("graphiql"));
  root.render(React.createElement(GraphiQL, {
    fetcher: fetcher,
    defaultQuery: config.defaultQuery,
    query: params.get("query") || undefined,
    variables: params.get("variables") || undefined,
    headers: params.get("headers") || undefined,
    operationName: params.get("operationName") || undefined,
    isHeadersEditorEnabled: true,
    shouldPersistHeaders: false
  }));
})();
"""

_PAGE_CSS = """html, body { height: 100%; margin: 0; width: 100%; overflow: hidden; }
#graphiql { height: 100vh; }
.graphiql-fallback { font-family: system-ui, sans-serif; padding: 2rem; }
"""


@dataclass(frozen=True, slots=True)
class AssetSource:
    """One file the page loads: its name in URLs, where the npm install put it, its media type."""

    name: str
    package_path: str
    media_type: str


# The UMD builds: React 18 and GraphiQL 3 (which bundles graphql-js and the graphql-ws client).
NPM_ASSETS = (
    AssetSource("react.production.min.js", "react/umd/react.production.min.js", _JS),
    AssetSource("react-dom.production.min.js", "react-dom/umd/react-dom.production.min.js", _JS),
    AssetSource("graphiql.min.js", "graphiql/graphiql.min.js", _JS),
    AssetSource("graphiql.min.css", "graphiql/graphiql.min.css", _CSS),
)
VERSIONED_PACKAGES = ("graphiql", "react", "react-dom")


@dataclass(frozen=True, slots=True)
class Asset:
    """A file served under ``/graphiql/assets/<digest>/``, with its gzip form when that is smaller."""

    body: bytes
    gzipped: bytes | None
    media_type: str
    etag: str


@dataclass(frozen=True, slots=True)
class AssetBundle:
    """The installed files, read once: ``digest`` names this exact set in the page's URLs."""

    digest: str
    files: Mapping[str, Asset]
    versions: Mapping[str, str]

    @classmethod
    def load(cls, root: Path) -> AssetBundle:
        """Read the bundle installed under ``root`` (``root/node_modules/...``); OSError when missing."""
        modules = root / "node_modules"
        raw: dict[str, tuple[bytes, str]] = {
            source.name: ((modules / source.package_path).read_bytes(), source.media_type) for source in NPM_ASSETS
        }
        raw["init.js"] = (_INIT_JS.encode(), _JS)
        raw["page.css"] = (_PAGE_CSS.encode(), _CSS)
        versions = {
            name: str(json.loads((modules / name / "package.json").read_bytes()).get("version", "?"))
            for name in VERSIONED_PACKAGES
        }
        whole = hashlib.sha256()
        files: dict[str, Asset] = {}
        for name, (body, media_type) in sorted(raw.items()):
            digest = hashlib.sha256(body).hexdigest()
            whole.update(name.encode() + b"\0" + digest.encode())
            packed = gzip.compress(body, compresslevel=6, mtime=0)
            files[name] = Asset(body, packed if len(packed) < len(body) else None, media_type, f'"{digest[:32]}"')
        return cls(whole.hexdigest()[:16], files, versions)


def default_assets_dir() -> Path:
    """Where ``make install`` puts the bundle: ``<sys.prefix>/share/graphiql`` (the venv's)."""
    return Path(sys.prefix) / "share" / "graphiql"


def prefers_html(accept: str | None) -> bool:
    """Whether an ``Accept`` header asks for HTML before any GraphQL JSON type (a browser's navigation).

    ``text/html`` (or ``application/xhtml+xml``) must be named with a quality above every named
    JSON type's; wildcards count for neither, so ``*/*`` and API clients keep getting JSON.
    """
    if not accept:
        return False
    html = json_quality = 0.0
    for accepted in media_ranges(accept):
        media, quality = accepted.media, accepted.quality
        if media in (TEXT_HTML, "application/xhtml+xml"):
            html = max(html, quality)
        elif media in (APPLICATION_JSON, GRAPHQL_RESPONSE_JSON):
            json_quality = max(json_quality, quality)
    return html > 0 and html > json_quality


class GraphiQL:
    """The page and its assets; :meth:`page_or` puts the page in front of a ``/graphql`` handler."""

    def __init__(self, enabled: bool, assets_dir: Path | None = None) -> None:
        self.enabled = enabled
        self.assets_dir = assets_dir or default_assets_dir()
        self._bundle: AssetBundle | None = None
        self._missing: str | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> GraphiQL:
        """On per ``settings.graphiql_enabled``, assets from ``settings.graphiql_assets`` (or the default)."""
        return cls(settings.graphiql_enabled, settings.graphiql_assets)

    @property
    def routes(self) -> list[BaseRoute]:
        """The asset route (none when off)."""
        if not self.enabled:
            return []
        return [Route(ASSETS_PATH + "/{digest}/{name}", self.asset, methods=["GET", "HEAD"])]

    def page_or(self, handler: Handler) -> Handler:
        """``handler``, answering browsers' ``GET``/``HEAD`` that prefer HTML with the page (when on)."""
        if not self.enabled:
            return handler

        async def graphql_or_page(request: Request) -> Response:
            if request.method in ("GET", "HEAD") and prefers_html(request.headers.get("accept")):
                return self.page()
            return await handler(request)

        return graphql_or_page

    def bundle(self) -> AssetBundle | None:
        """The installed bundle, read on first use; ``None`` (logged once) when it is not installed."""
        if self._bundle is None and self._missing is None:
            try:
                self._bundle = AssetBundle.load(self.assets_dir)
            except (OSError, ValueError) as exc:
                self._missing = str(exc)
                logger.warning("GraphiQL is on but its assets are missing (%s): run make install", exc)
        return self._bundle

    def page(self) -> Response:
        """The HTML page: links to the digest-named assets, a JSON settings block, no inline script."""
        bundle = self.bundle()
        if bundle is None:
            body = (
                '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>GraphiQL unavailable</title>'
                "</head><body><p>GraphiQL is enabled but its assets are not installed on this server: "
                "run <code>make install</code> (it installs them into "
                f"<code>{_escape(str(self.assets_dir))}</code>).</p></body></html>"
            )
            return Response(body, 503, headers=dict(_PAGE_HEADERS), media_type="text/html; charset=utf-8")
        base = f"{ASSETS_PATH}/{bundle.digest}"
        config = json.dumps({"defaultQuery": DEFAULT_QUERY, "versions": dict(bundle.versions)})
        # JSON inside <script> must not be able to close the element.
        config = config.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
        body = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>GraphiQL · DPP gateway</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="{base}/graphiql.min.css">
<link rel="stylesheet" href="{base}/page.css">
<script type="application/json" id="graphiql-config">{config}</script>
</head>
<body>
<div id="graphiql"><p class="graphiql-fallback">Loading GraphiQL…</p></div>
<noscript><p class="graphiql-fallback">GraphiQL needs JavaScript.</p></noscript>
<script src="{base}/react.production.min.js"></script>
<script src="{base}/react-dom.production.min.js"></script>
<script src="{base}/graphiql.min.js"></script>
<script src="{base}/init.js"></script>
</body>
</html>
"""
        return Response(body, 200, headers=dict(_PAGE_HEADERS), media_type="text/html; charset=utf-8")

    async def asset(self, request: Request) -> Response:
        """One asset of the current bundle: immutable caching, ETag, gzip when the client takes it."""
        bundle = self.bundle()
        name = request.path_params["name"]
        asset = bundle.files.get(name) if bundle is not None else None
        if bundle is None or asset is None or request.path_params["digest"] != bundle.digest:
            return Response("Not Found", 404, headers={"cache-control": "no-store"}, media_type="text/plain")
        headers = {
            "cache-control": _IMMUTABLE,
            "etag": asset.etag,
            "x-content-type-options": "nosniff",
            "vary": "accept-encoding",
        }
        if asset.etag in _etags(request.headers.get("if-none-match")):
            return Response(status_code=304, headers=headers)
        body = asset.body
        if asset.gzipped is not None and _accepts_gzip(request.headers.get("accept-encoding")):
            body = asset.gzipped
            headers["content-encoding"] = "gzip"
        return Response(body, 200, headers=headers, media_type=asset.media_type)


def _etags(header: str | None) -> set[str]:
    if not header:
        return set()
    return {tag.strip().removeprefix("W/") for tag in header.split(",")}


def _accepts_gzip(header: str | None) -> bool:
    for item in (header or "").split(","):
        coding, _, rest = item.partition(";")
        if coding.strip().lower() != "gzip":
            continue
        key, _, value = rest.partition("=")
        if key.strip().lower() != "q":
            return True
        try:
            return float(value) > 0
        except ValueError:
            return False
    return False


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
