"""aiohttp's failures in httpx's words: each one classifies as the same failure of httpx did."""

from __future__ import annotations

import ssl

import aiohttp
import httpx
import pytest
from aiohttp.client_reqrep import ConnectionKey
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from routeguard.outcomes import Outcome
from routeguard.probes.aiohttp_client import transport_error
from routeguard.providers import classify_exception

KEY = ConnectionKey("api.example", 443, True, True, None, None, None)
REFUSED = ConnectionRefusedError(111, "Connect call failed")
URL_ = URL("https://api.example/v1/chat/completions")
INFO = aiohttp.RequestInfo(URL_, "POST", CIMultiDictProxy(CIMultiDict()), URL_)

CASES: list[tuple[str, aiohttp.ClientError, type[httpx.TransportError], Outcome]] = [
    (
        "refused",
        aiohttp.ClientConnectorError(KEY, REFUSED),
        httpx.ConnectError,
        Outcome.CONNECT_ERROR,
    ),
    (
        "certificate",
        aiohttp.ClientConnectorCertificateError(KEY, ssl.SSLCertVerificationError("bad cert")),
        httpx.ConnectError,
        Outcome.CONNECT_ERROR,
    ),
    (
        "connect timeout",
        aiohttp.ConnectionTimeoutError("slow"),
        httpx.ConnectTimeout,
        Outcome.TIMEOUT,
    ),
    ("read timeout", aiohttp.SocketTimeoutError("slow"), httpx.ReadTimeout, Outcome.TIMEOUT),
    (
        "disconnected",
        aiohttp.ServerDisconnectedError(),
        httpx.RemoteProtocolError,
        Outcome.CONNECT_ERROR,
    ),
    (
        "body cut",
        aiohttp.ClientPayloadError("Response payload is not completed"),
        httpx.RemoteProtocolError,
        Outcome.CONNECT_ERROR,
    ),
    (
        "not http",
        aiohttp.ClientResponseError(INFO, (), status=400, message="Invalid HTTP status line"),
        httpx.RemoteProtocolError,
        Outcome.CONNECT_ERROR,
    ),
    (
        "reset",
        aiohttp.ClientOSError(104, "Connection reset by peer"),
        httpx.ReadError,
        Outcome.CONNECT_ERROR,
    ),
    (
        "proxy",
        aiohttp.ClientProxyConnectionError(KEY, REFUSED),
        httpx.ProxyError,
        Outcome.CONNECT_ERROR,
    ),
    ("bad url", aiohttp.InvalidURL("http://[::1"), httpx.UnsupportedProtocol, Outcome.CLIENT_ERROR),
]


@pytest.mark.parametrize("theirs, ours, outcome", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_aiohttp_failure_becomes_the_httpx_one_of_the_same_meaning(
    theirs: aiohttp.ClientError, ours: type[httpx.TransportError], outcome: Outcome
) -> None:
    translated = transport_error(theirs)
    assert type(translated) is ours
    assert str(theirs) in str(translated) or not str(theirs)
    assert classify_exception(translated).outcome is outcome


def test_a_cut_after_the_headers_is_a_bad_response_as_with_httpx() -> None:
    translated = transport_error(aiohttp.ClientPayloadError("Response payload is not completed"))
    assert classify_exception(translated, after_headers=True).outcome is Outcome.BAD_RESPONSE


def test_an_aiohttp_failure_nobody_listed_is_still_the_providers() -> None:
    class Novel(aiohttp.ClientError):
        pass

    translated = transport_error(Novel("new in aiohttp 4"))
    assert classify_exception(translated).outcome is Outcome.CONNECT_ERROR
