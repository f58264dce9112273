"""``Accept`` and ``Content-Type`` handling per GraphQL over HTTP."""

from __future__ import annotations

from dataclasses import dataclass

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
APPLICATION_JSON = "application/json"


def _parse_media_range(item: str) -> tuple[str, dict[str, str]]:
    media, _, rest = item.partition(";")
    params: dict[str, str] = {}
    for param in rest.split(";"):
        key, sep, value = param.partition("=")
        if sep:
            params[key.strip().lower()] = value.strip().strip('"').lower()
    return media.strip().lower(), params


@dataclass(frozen=True, slots=True)
class MediaRange:
    """One item of an ``Accept`` header: its media type and parameters (lower case) and its quality."""

    media: str
    params: dict[str, str]
    quality: float  # the ``q`` parameter, 1 when absent, 0 when not a number ("not acceptable")


def media_ranges(accept: str | None) -> list[MediaRange]:
    """The non-empty items of an ``Accept`` header, in the order the client named them."""
    ranges = []
    for item in (accept or "").split(","):
        if not item.strip():
            continue
        media, params = _parse_media_range(item)
        try:
            quality = float(params.get("q", "1"))
        except ValueError:
            quality = 0.0
        ranges.append(MediaRange(media, params, quality))
    return ranges


def negotiate_response_type(accept: str | None) -> str | None:
    """The response media type for an ``Accept`` header, or ``None`` (answer 406).

    No ``Accept`` header means ``application/json``, as the spec asks of servers that
    keep serving legacy clients. Wildcards (``*/*``, ``application/*``) also pick
    ``application/json``: clients that send them (curl, browsers) are legacy clients.
    ``application/graphql-response+json`` is chosen only when named, and wins a tie.
    Quality values are honoured; ``q=0`` means "not acceptable".
    """
    if accept is None or not accept.strip():
        return APPLICATION_JSON
    best: tuple[float, int] | None = None
    chosen: str | None = None
    for accepted in media_ranges(accept):
        media, params, quality = accepted.media, accepted.params, accepted.quality
        if quality <= 0:
            continue
        charset = params.get("charset")
        if charset is not None and charset not in ("utf-8", "utf8"):
            continue  # we only speak UTF-8
        if media == GRAPHQL_RESPONSE_JSON:
            candidate, rank = GRAPHQL_RESPONSE_JSON, 3
        elif media == APPLICATION_JSON:
            candidate, rank = APPLICATION_JSON, 2
        elif media in ("*/*", "application/*"):
            candidate, rank = APPLICATION_JSON, 1
        else:
            continue
        key = (quality, rank)
        if best is None or key > best:
            best, chosen = key, candidate
    return chosen


def is_json_content_type(content_type: str | None) -> bool:
    """Whether a request ``Content-Type`` is ``application/json`` in UTF-8."""
    if not content_type:
        return False
    media, params = _parse_media_range(content_type)
    if media != APPLICATION_JSON:
        return False
    charset = params.get("charset")
    return charset is None or charset in ("utf-8", "utf8")
