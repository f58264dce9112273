"""RFC 6455 frames, server side: what gateway/http/ws_protocol.py reads from and writes to a client.

Only what a graphql-transport-ws server needs: no extension is ever negotiated (permessage-deflate
stays off: its zlib state cost ~40 KB per idle connection, and events are small JSON), so the RSV
bits must be clear; client frames must be masked; control frames must be final and at most 125
bytes. The mask is removed by the websockets library's C helper (``websockets.speedups``).

A violation raises :class:`FrameError` with the close code to send (1002 protocol error, 1007
invalid UTF-8 in a close reason, 1009 message too big).
"""

from __future__ import annotations

import struct

try:
    from websockets.speedups import apply_mask
except ImportError:  # pragma: no cover - the wheel ships the C helper
    from websockets.utils import apply_mask

__all__ = [
    "BINARY",
    "CLOSE",
    "CONTINUATION",
    "PING",
    "PONG",
    "TEXT",
    "FrameError",
    "close_frame",
    "encode",
    "parse_close",
    "read_frame",
]

CONTINUATION, TEXT, BINARY, CLOSE, PING, PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
_DATA = {CONTINUATION, TEXT, BINARY}
_CONTROL = {CLOSE, PING, PONG}
_H16 = struct.Struct("!H")
_H64 = struct.Struct("!Q")
# close codes a peer may send (RFC 6455 7.4.1, 7.4.2)
_VALID_CLOSE = {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014}


class FrameError(Exception):
    """The client broke the protocol: close with ``code`` and ``reason``."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


def read_frame(data: bytes, start: int, max_size: int) -> tuple[int, bool, bytes, int] | None:
    """The client frame at ``data[start:]``: (opcode, fin, unmasked payload, end offset), or None while
    it is incomplete. A data frame longer than ``max_size`` (0: no limit) is refused as soon as its
    header is in, before its payload is buffered."""
    available = len(data) - start
    if available < 2:
        return None
    first, second = data[start], data[start + 1]
    if first & 0x70:
        raise FrameError(1002, "reserved bits must be 0")
    opcode, fin = first & 0x0F, bool(first & 0x80)
    if not second & 0x80:
        raise FrameError(1002, "client frames must be masked")
    length, at = second & 0x7F, start + 2
    if opcode in _CONTROL:
        if not fin or length > 125:
            raise FrameError(1002, "control frames must be final and at most 125 bytes")
    elif opcode not in _DATA:
        raise FrameError(1002, f"unknown opcode {opcode}")
    if length == 126:
        if available < 4:
            return None
        length, at = _H16.unpack_from(data, at)[0], at + 2
    elif length == 127:
        if available < 10:
            return None
        length, at = _H64.unpack_from(data, at)[0], at + 8
    if max_size and length > max_size and opcode in _DATA:
        raise FrameError(1009, f"Message too big: the limit is {max_size} bytes")
    end = at + 4 + length
    if len(data) < end:
        return None
    mask = bytes(data[at : at + 4])
    payload = apply_mask(bytes(data[at + 4 : end]), mask) if length else b""
    return opcode, fin, payload, end


def encode(opcode: int, payload: bytes) -> bytes:
    """One final, unmasked server frame."""
    length = len(payload)
    if length < 126:
        head = bytes((0x80 | opcode, length))
    elif length < 65536:
        head = bytes((0x80 | opcode, 126)) + _H16.pack(length)
    else:
        head = bytes((0x80 | opcode, 127)) + _H64.pack(length)
    return head + payload


def close_frame(code: int, reason: str) -> bytes:
    """A close frame with ``code`` and ``reason`` (cut to the 123 bytes a close frame holds)."""
    cut = reason.encode("utf-8")[:123].decode("utf-8", "ignore").encode("utf-8")
    return encode(CLOSE, _H16.pack(code) + cut)


def parse_close(payload: bytes) -> tuple[int, str]:
    """A client close frame's code and reason (1005: none given)."""
    if not payload:
        return 1005, ""
    if len(payload) < 2:
        raise FrameError(1002, "close frame too short")
    code = _H16.unpack_from(payload)[0]
    if code not in _VALID_CLOSE and not 3000 <= code < 5000:
        raise FrameError(1002, f"invalid close code {code}")
    try:
        reason = payload[2:].decode("utf-8")
    except UnicodeDecodeError:
        raise FrameError(1007, "invalid UTF-8 in the close reason") from None
    return code, reason
