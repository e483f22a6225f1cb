"""One verifying TLS context per process (building one costs ~20 ms: STACK-NOTES)."""

from __future__ import annotations

import functools
import ssl

import httpx

__all__ = ["default_tls"]


@functools.cache
def default_tls() -> ssl.SSLContext:
    """httpx's default context (certifi CA bundle, verification on), built once."""
    return httpx.create_ssl_context()
