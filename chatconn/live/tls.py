"""TLS for the transports: one verifying context per process, and TLS failures as errors.

Certificate verification is always on: ``wss://`` and ``https://`` use the caller's
:class:`ssl.SSLContext` (the manager's ``ssl=`` or ``ca_file=``), else :func:`default_tls`.
"""

from __future__ import annotations

import functools
import os
import ssl
import ssl as ssl_module  # client_tls() takes a parameter named ssl

import httpx

from ..core.errors import ConfigError
from .errors import CertificateRejected, ConnectionReset, LiveError, ProtocolViolation

__all__ = ["client_tls", "default_tls", "tls_error"]


@functools.cache
def default_tls() -> ssl.SSLContext:
    """httpx's default context, built once (building one costs ~20 ms: STACK-NOTES):
    verification on, certifi's CA bundle, or ``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` when set."""
    return httpx.create_ssl_context()


def tls_error(exc: ssl.SSLError, where: str) -> LiveError:
    """A TLS failure during connect as a live error.

    ======================================  ===================  =========================
    failure                                 error                why
    ======================================  ===================  =========================
    certificate not verified (unknown CA,   CertificateRejected  fatal: the same server
    host name mismatch, expired)                                 fails the same way again
    EOF or close during the handshake       ConnectionReset      retryable: the network
    anything else (no TLS on that port,     ProtocolViolation    fatal: wrong URL or
    no common version or cipher)                                 server configuration
    ======================================  ===================  =========================
    """
    if isinstance(exc, ssl.SSLCertVerificationError):
        reason = exc.verify_message or exc.reason or "certificate verify failed"
        return CertificateRejected(
            f"{where}: the server's TLS certificate could not be verified ({reason})"
        )
    if isinstance(exc, ssl.SSLEOFError | ssl.SSLZeroReturnError | ssl.SSLSyscallError):
        return ConnectionReset(f"{where}: the connection closed during the TLS handshake")
    return ProtocolViolation(f"{where}: TLS failed ({exc.reason or type(exc).__name__})")


def client_tls(
    ssl: ssl_module.SSLContext | None, ca_file: str | os.PathLike[str] | None
) -> ssl_module.SSLContext | None:
    """The client context for wss:// and https://: ``ssl`` as given, or one that trusts
    the CA certificates of ``ca_file`` (only those, as a CA bundle does), or None for the
    default (:func:`~chatconn.live.tls.default_tls`). There is no switch that turns
    verification off: a context of your own is used as it is."""
    if ssl is not None and not isinstance(ssl, ssl_module.SSLContext):
        raise ConfigError("ssl", ssl, "expected an ssl.SSLContext (or None for the default)")
    if ca_file is None:
        return ssl
    if ssl is not None:
        raise ConfigError("ca_file", ca_file, "give ssl= or ca_file=, not both")
    try:
        return ssl_module.create_default_context(cafile=os.fspath(ca_file))
    except (OSError, TypeError, ValueError) as exc:  # ssl.SSLError is an OSError
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ConfigError(
            "ca_file", ca_file, f"expected a readable PEM file of CA certificates ({reason})"
        ) from exc
