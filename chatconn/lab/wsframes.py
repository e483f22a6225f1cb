"""Spot the first WebSocket close frame in a forwarded byte stream (without decoding data).

The chaos proxy forwards bytes; to say who ended a WebSocket (the client's close frame, or
the server's) it follows the frame headers of each direction after the upgrade —
RFC 6455 section 5.2: opcode in the low 4 bits of byte 0, payload length 7 bits, or 16 or
64 bits after 126 or 127, then a 4-byte mask when the mask bit is set — and skips payloads.
"""

from __future__ import annotations

__all__ = ["CloseWatch"]

_CLOSE = 0x8


class CloseWatch:
    """Feed one direction's bytes after the HTTP head; ``closed`` turns True at a close frame.

    ``skip_head`` True: bytes up to the first blank line (an HTTP response head) are skipped.
    """

    def __init__(self, *, skip_head: bool = False) -> None:
        self.buffer = b""
        self.skip = 0  # payload bytes still to skip
        self.in_head = skip_head
        self.closed = False
        self.broken = False  # not WebSocket framing after all: stop looking

    def feed(self, data: bytes) -> bool:
        """Returns True when this chunk completed a close frame's header (the first time)."""
        if self.closed or self.broken:
            return False
        if self.in_head:
            data = self.buffer + data
            end = data.find(b"\r\n\r\n")
            if end < 0:
                self.buffer = data[-3:]
                return False
            self.in_head, self.buffer = False, b""
            data = data[end + 4 :]
        if self.skip:
            n = min(self.skip, len(data))
            self.skip -= n
            data = data[n:]
        data = self.buffer + data
        while data:
            if len(data) < 2:
                break
            opcode, length, masked = data[0] & 0x0F, data[1] & 0x7F, data[1] & 0x80
            size = 2 + (2 if length == 126 else 8 if length == 127 else 0) + (4 if masked else 0)
            if len(data) < size:
                break
            if length == 126:
                length = int.from_bytes(data[2:4], "big")
            elif length == 127:
                length = int.from_bytes(data[2:10], "big")
            if data[0] & 0x70 and opcode > 0xA:  # reserved bits and opcode: not a frame
                self.broken = True
                return False
            if opcode == _CLOSE:
                self.closed, self.buffer = True, b""
                return True
            data = data[size:]
            if len(data) < length:
                self.skip = length - len(data)
                data = b""
            else:
                data = data[length:]
        self.buffer = data
        return False
