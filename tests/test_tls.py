"""wss:// and https:// against the lab serving TLS, over real loopback sockets.

A trustme CA issues a certificate for "localhost" and "127.0.0.1"; the lab serves it on every
backend (its chaos proxies forward the encrypted bytes). A client with default settings must
refuse that certificate (a private CA is not in the default bundle) at once, without sending
the token; with the CA (``ca_file=`` or ``ssl=``) every strategy connects.
"""

from __future__ import annotations

import asyncio
import ssl

import helpers
import pytest
import trustme

from chatconn.core.errors import ConfigError
from chatconn.core.policy import RetryPolicy
from chatconn.core.profiles import NetworkProfile
from chatconn.core.strategies import ErrorCategory, Strategy
from chatconn.endpoint import Endpoint
from chatconn.lab.chaos import Fault
from chatconn.lab.server import LabServer
from chatconn.live.errors import (
    CertificateRejected,
    ConnectFailed,
    ConnectionReset,
    ProtocolViolation,
)
from chatconn.live.events import ConnectionState
from chatconn.live.manager import ConnectionManager
from chatconn.live.session import PhaseClock
from chatconn.live.transports import open_session

CALM = NetworkProfile("calm", rtt_median_s=0.002, rtt_sigma=0.0, auth_s=0.0, sync_s=0.0)
TOKEN = "tls-test-token-5f3a9c"  # distinctive: it must appear in no error, record or event
STRATEGIES = [
    Strategy.DIRECT_WEBSOCKET,
    Strategy.MULTIPLE_PORTS,
    Strategy.LONG_POLLING,
    Strategy.SSE_FALLBACK,
]
FAST_S = 2.0  # a certificate failure ends the connect long before any timeout (5 s here)


def run(coro):
    return helpers.run(coro, 30)


def one_shot(strategy: Strategy, timeout: float = 5.0) -> RetryPolicy:
    return helpers.one_shot(strategy, timeout)


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def server_tls(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost", "127.0.0.1").configure_cert(context)
    return context


@pytest.fixture(scope="module")
def ca_file(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("tls") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


@pytest.fixture(scope="module")
def client_tls(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


def lab(server_tls: ssl.SSLContext, **kwargs) -> LabServer:
    return LabServer(CALM, tls=server_tls, token=TOKEN, **kwargs)


# ------------------------------------------------------------------------------ the lab
def test_the_lab_serves_tls_behind_localhost_urls(server_tls, client_tls):
    async def scenario():
        async with lab(server_tls) as server:
            session = await open_session(
                Strategy.DIRECT_WEBSOCKET, server.endpoint, TOKEN, PhaseClock(), ssl=client_tls
            )
            await session.close()
            return server.endpoint, server.backend_endpoint, list(server.proxies["ws0"].records)

    endpoint, backend, records = run(scenario())
    assert all(url.startswith("wss://localhost:") for url in endpoint.ws_urls)
    assert endpoint.http_url.startswith("https://localhost:")
    assert backend.primary.startswith("wss://localhost:")
    assert backend.http_url.startswith("https://localhost:")
    (record,) = records
    assert record.tls and record.target == "" and record.session_tag is None


def test_tls_options_are_checked(ca_file, client_tls):
    endpoint = Endpoint(("wss://localhost:1/ws",), "https://localhost:1")
    with pytest.raises(ConfigError, match="ssl"):
        ConnectionManager(endpoint, TOKEN, ssl=True)  # no way to turn verification off
    with pytest.raises(ConfigError, match="not both"):
        ConnectionManager(endpoint, TOKEN, ssl=client_tls, ca_file=ca_file)
    with pytest.raises(ConfigError, match="PEM file"):
        ConnectionManager(endpoint, TOKEN, ca_file="/nonexistent/ca.pem")
    with pytest.raises(ConfigError, match="tls"):
        LabServer(CALM, tls="cert.pem")


# ------------------------------------------------------------- verification by default
def test_default_settings_reject_the_private_certificate_at_once(server_tls):
    async def scenario():
        async with lab(server_tls) as server:
            async with ConnectionManager(server.endpoint, TOKEN) as manager:  # default policy
                loop = asyncio.get_running_loop()
                began = loop.time()
                with pytest.raises(CertificateRejected) as info:
                    await manager.connect()
                elapsed = loop.time() - began
                state = manager.state
            return info.value, elapsed, state, manager, dict(server.hub.counts)

    error, elapsed, state, manager, counts = run(scenario())
    assert elapsed < FAST_S
    assert not error.retryable
    assert "certificate could not be verified" in str(error)
    assert "unable to get local issuer certificate" in str(error)
    assert state is ConnectionState.FAILED
    assert "ca_file" in manager.explanation and "Retrying cannot help" in manager.explanation
    (record,) = manager.records  # no retry, no fallback: the same server fails the same way
    assert not record.connected and "certificate" in record.error
    assert counts["auth_ok"] == counts["auth_failed"] == 0  # the token was never sent


@pytest.mark.parametrize("strategy", STRATEGIES, ids=str)
def test_every_transport_verifies_by_default(server_tls, strategy):
    async def scenario():
        async with lab(server_tls) as server:
            manager = ConnectionManager(server.endpoint, TOKEN, policy=one_shot(strategy))
            async with manager:
                loop = asyncio.get_running_loop()
                began = loop.time()
                with pytest.raises(CertificateRejected) as info:
                    await manager.connect()
                return info.value, loop.time() - began, dict(server.hub.counts)

    error, elapsed, counts = run(scenario())
    assert elapsed < FAST_S
    assert "certificate could not be verified" in str(error)
    assert counts["auth_ok"] == counts["auth_failed"] == 0


def test_a_certificate_for_another_host_is_rejected_even_with_the_ca(ca, ca_file):
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("chat.example.org").configure_cert(context)

    async def scenario():
        async with LabServer(CALM, tls=context, token=TOKEN) as server:
            policy = RetryPolicy(
                ladder=(Strategy.DIRECT_WEBSOCKET, Strategy.LONG_POLLING), max_attempts=2
            )
            manager = ConnectionManager(server.endpoint, TOKEN, policy=policy, ca_file=ca_file)
            async with manager:
                with pytest.raises(CertificateRejected) as info:
                    await manager.connect()
                return info.value, len(manager.records)

    error, attempts = run(scenario())
    assert "not valid for 'localhost'" in str(error)
    assert attempts == 1


# ------------------------------------------------------------------ a private CA trusted
@pytest.mark.parametrize("trust", ["ca_file", "ssl"])
@pytest.mark.parametrize("strategy", STRATEGIES, ids=str)
def test_a_private_ca_connects_every_strategy(server_tls, ca_file, client_tls, strategy, trust):
    options = {"ca_file": ca_file} if trust == "ca_file" else {"ssl": client_tls}

    async def scenario():
        async with lab(server_tls) as server:
            manager = ConnectionManager(
                server.endpoint, TOKEN, policy=one_shot(strategy), **options
            )
            async with manager:
                session = await manager.connect()
                await session.send("over tls")
                message = await asyncio.wait_for(session.receive(), 5)
                await session.ping()
                return session.strategy, message, manager.records

    strategy_used, message, records = run(scenario())
    assert strategy_used is strategy
    assert message["text"] == "over tls"
    (record,) = records
    assert record.connected
    assert record.url.startswith("wss://localhost" if strategy.uses_websocket else "https://")


def test_diagnostics_probe_with_the_managers_tls_settings(server_tls, ca_file):
    async def scenario():
        async with lab(server_tls) as server:
            trusted = ConnectionManager(server.endpoint, TOKEN, diagnostics=True, ca_file=ca_file)
            async with trusted:
                await trusted.connect()
            untrusted = ConnectionManager(server.endpoint, TOKEN, diagnostics=True)
            async with untrusted:
                with pytest.raises(CertificateRejected):
                    await untrusted.connect()
            return trusted.report, untrusted.report

    trusted, untrusted = run(scenario())
    assert trusted.http_ok and trusted.websocket_ok
    assert not untrusted.http_ok and not untrusted.websocket_ok
    assert "certificate could not be verified" in untrusted.http_problem


# -------------------------------------------------------- network faults stay retryable
def test_network_faults_through_tls_keep_their_categories(server_tls, ca_file):
    """The proxies forward TLS: stalls, resets and refusals apply; upgrade blocking cannot
    see inside TLS, so a scheduled 403 lets the WebSocket through."""
    cases = [
        (Fault.STALL, ErrorCategory.TIMEOUT),
        (Fault.RESET, ErrorCategory.RESET),
        (Fault.REFUSE, ErrorCategory.RESET),
        (Fault.UPGRADE_403, ErrorCategory.NONE),
    ]

    async def scenario():
        outcomes = []
        async with lab(server_tls) as server:
            for strategy, role in (
                (Strategy.DIRECT_WEBSOCKET, "ws0"),
                (Strategy.SSE_FALLBACK, "http"),
            ):
                for fault, _ in cases:
                    server.schedule(role, [fault])
                    manager = ConnectionManager(
                        server.endpoint, TOKEN, policy=one_shot(strategy, 0.5), ca_file=ca_file
                    )
                    try:
                        await manager.connect()
                        category = ErrorCategory.NONE
                    except ConnectFailed as exc:
                        category = exc.records[-1].error_category
                    finally:
                        await manager.close()
                    outcomes.append((strategy, fault, category))
                    server.clear_schedules()
        return outcomes

    expected = dict(cases)
    for strategy, fault, category in run(scenario()):
        assert category is expected[fault], (strategy, fault)


def test_tls_failures_other_than_the_certificate(client_tls):
    """An HTTP answer to the ClientHello (no TLS on the port): a protocol violation (fatal).
    Closed mid-handshake: a reset (the plain lab's WebSocket backend just closes, so a
    wss:// URL to it is indistinguishable from a network reset)."""

    async def closes_at_once(reader, writer):
        await reader.read(1)
        writer.close()

    async def scenario():
        async with LabServer(CALM, token=TOKEN) as plain:  # a wss:// URL to a plain server
            http, ws = plain.endpoint.http_url, plain.endpoint.primary
            endpoint = Endpoint(
                (ws.replace("ws://127.0.0.1", "wss://localhost"),),
                http.replace("http://127.0.0.1", "https://localhost"),
            )
            errors = []
            for strategy, expected in (
                (Strategy.LONG_POLLING, ProtocolViolation),  # uvicorn answers HTTP 400
                (Strategy.SSE_FALLBACK, ProtocolViolation),
                (Strategy.DIRECT_WEBSOCKET, ConnectionReset),  # websockets closes silently
            ):
                with pytest.raises(expected) as info:
                    await open_session(strategy, endpoint, TOKEN, PhaseClock(), ssl=client_tls)
                errors.append(info.value)
        server = await asyncio.start_server(closes_at_once, "127.0.0.1", 0)
        async with server:
            port = server.sockets[0].getsockname()[1]
            endpoint = Endpoint((f"wss://localhost:{port}/ws",), f"https://localhost:{port}")
            for strategy in (Strategy.DIRECT_WEBSOCKET, Strategy.LONG_POLLING):
                with pytest.raises(ConnectionReset) as info:
                    await open_session(strategy, endpoint, TOKEN, PhaseClock(), ssl=client_tls)
                errors.append(info.value)
        return errors

    errors = run(scenario())
    assert all("TLS failed (WRONG_VERSION_NUMBER)" in str(e) for e in errors[:2])
    assert not any(e.retryable for e in errors[:2])
    assert all(e.retryable for e in errors[2:])


# ----------------------------------------------------------------------------- secrets
def test_the_token_never_appears_in_tls_errors_events_or_records(server_tls, ca_file):
    async def scenario():
        texts: list[str] = []
        async with lab(server_tls) as server:
            for strategy in STRATEGIES:
                for options in ({}, {"ca_file": ca_file}):
                    manager = ConnectionManager(
                        server.endpoint, TOKEN, policy=one_shot(strategy), **options
                    )
                    manager.subscribe(lambda e, out=texts: out.extend((repr(e), str(e.to_dict()))))
                    try:
                        session = await manager.connect()
                        texts.append(repr(session))
                    except CertificateRejected as exc:
                        texts += [str(exc), repr(exc), repr(exc.__cause__)]
                    texts += [repr(manager), manager.explanation]
                    texts += [str(r.to_dict()) for r in manager.records]
                    await manager.close()
        return texts

    texts = run(scenario())
    assert any("certificate" in t for t in texts)
    assert not [t for t in texts if TOKEN in t]


def test_chatconn_run_trusts_a_private_ca_with_ca_file(server_tls, ca_file, capsys, monkeypatch):
    import json

    from chatconn.cli import main
    from chatconn.lab.thread import LabServerThread

    lab = LabServerThread("fiber", tls=server_tls).start()
    try:
        monkeypatch.setenv("CHATCONN_TOKEN", lab.token)
        endpoint = lab.endpoint
        args = ["run", "--url", endpoint.primary, "--http-url", endpoint.http_url]
        args += ["--sessions", "2", "--set", "ladder=direct_websocket", "--json"]
        assert main([*args, "--ca-file", ca_file]) == 0
        trusted = json.loads(capsys.readouterr().out)
        assert main([*args, "--set", "max_attempts=1"]) == 0  # default trust store only
        untrusted = json.loads(capsys.readouterr().out)
    finally:
        lab.stop()
    assert trusted["success_rate"] == 1.0
    assert untrusted["success_rate"] == 0.0
    assert untrusted["failure_kinds"] == {"CertificateRejected": 2}
