"""Which federation directive a subgraph's local name means: its ``@link``s and their imports.

A Federation 2 subgraph links the federation spec (``@link(url: ".../federation/v2.x", import: [...])``)
and may rename or prefix its directives (``@key``, ``@federation__key``, an ``as:`` import); a subgraph
without that link is Federation 1 and uses the bare names. :func:`read_federation_links` turns the
document's links into a :class:`FederationNames` (local name -> canonical name), the federation
version, and every other link (for ``@composeDirective``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from graphql.language import DocumentNode

from gateway.supergraph.links import LINK_SPEC, Link, read_links

from .errors import CompositionError

FEDERATION_URL = "https://specs.apollo.dev/federation/"

#: Directives the federation spec defines, by their canonical (unprefixed) names.
FEDERATION_DIRECTIVES = frozenset(
    {
        "key",
        "external",
        "requires",
        "provides",
        "extends",
        "shareable",
        "inaccessible",
        "tag",
        "override",
        "interfaceObject",
        "composeDirective",
        "authenticated",
        "requiresScopes",
        "policy",
        "context",
        "fromContext",
        "cost",
        "listSize",
        "cacheTag",
    }
)

#: Federation directives the supergraph carries as ``@join__directive`` (name there, first version).
JOIN_DIRECTIVES = {"cacheTag": ("federation__cacheTag", (2, 12))}

#: What a Federation 1 subgraph may use without any ``@link``.
FED1_DIRECTIVES = frozenset(
    {"key", "external", "requires", "provides", "extends", "shareable", "inaccessible", "tag"}
)


@dataclass(slots=True)
class FederationNames:
    """How this subgraph spells federation's directives: local name -> canonical name."""

    local_to_canonical: dict[str, str] = field(default_factory=dict)
    link_names: set[str] = field(default_factory=set)

    def canonical(self, local: str) -> str | None:
        return self.local_to_canonical.get(local)


def read_federation_links(
    doc: DocumentNode, errors: list[CompositionError], sub: str
) -> tuple[FederationNames, bool, tuple[int, int], list[tuple[str, list[object]]]]:
    """Read the schema's ``@link``s (:func:`gateway.supergraph.links.read_links`): which local
    names mean which federation directives."""
    names = FederationNames()
    links: list[tuple[str, list[object]]] = []
    fed_link: Link | None = None
    for link in read_links(doc):
        if link.from_feature:
            continue  # a subgraph links by url; @core(feature:) is a Federation 1 supergraph's
        names.link_names.add(link.directive)
        if link.url.startswith(LINK_SPEC):
            continue
        links.append((link.url, list(link.raw_imports)))
        if link.url.startswith(FEDERATION_URL):
            fed_link = link
    if fed_link is None:
        for n in FED1_DIRECTIVES:
            names.local_to_canonical[n] = n
        return names, False, (1, 0), links
    prefix = fed_link.alias or "federation"
    for n in FEDERATION_DIRECTIVES:
        names.local_to_canonical[f"{prefix}__{n}"] = n
    for imp in fed_link.raw_imports:
        if isinstance(imp, str):
            src, local = imp, imp
        elif isinstance(imp, dict):
            src, local = str(imp.get("name")), str(imp.get("as") or imp.get("name"))
        else:
            continue
        if src.startswith("@"):
            canonical = src[1:]
            # Unknown, or newer than the linked federation version (@cacheTag before v2.12).
            too_new = canonical in JOIN_DIRECTIVES and fed_link.version < JOIN_DIRECTIVES[canonical][1]
            if canonical not in FEDERATION_DIRECTIVES or too_new:
                errors.append(
                    CompositionError(
                        "INVALID_LINK_DIRECTIVE_USAGE",
                        f'[{sub}] Cannot import unknown element "{src}".',
                        (sub,),
                    )
                )
                continue
            names.local_to_canonical[local.lstrip("@")] = canonical
    return names, True, fed_link.version, links
