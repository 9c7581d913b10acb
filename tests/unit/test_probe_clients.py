"""The daemon's probes get a connection pool per provider, closed with the daemon."""

from __future__ import annotations

from routeguard.probes.clients import ProviderClients


async def test_each_provider_has_its_own_client_made_once() -> None:
    clients = ProviderClients()
    first = clients("openai")
    assert clients("openai") is first
    assert clients("anthropic") is not first
    assert len(clients) == 2
    await clients.aclose()


async def test_closing_closes_every_client_and_starts_over() -> None:
    clients = ProviderClients(connections=2, keepalive=1)
    made = [clients("a"), clients("b")]
    await clients.aclose()
    assert [c.is_closed for c in made] == [True, True]
    assert len(clients) == 0
    assert not clients("a").is_closed  # a later probe gets a fresh one
    await clients.aclose()
