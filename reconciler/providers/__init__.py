"""Providers: where live codes are read and written. `make_provider` picks one from config."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from reconciler.config.load import Config
from reconciler.config.trust import endpoint_refusal
from reconciler.core.errors import ConfigError, Problem, UsageError
from reconciler.core.settings import parse_duration
from reconciler.providers.base import Provider

if TYPE_CHECKING:
    from reconciler.providers.seam_events import WebhookSetup

DEFAULT_SIM_STATE = Path(".accesscodes") / "sim.json"


def make_provider(config: Config, *, clock: Callable[[], datetime]) -> Provider:
    """The provider a config names, built with the injected clock."""
    spec = config.provider
    if spec.kind == "sim":
        from reconciler.providers.sim import SimProvider

        state_file = config.base_dir / (spec.state_file or DEFAULT_SIM_STATE)
        return SimProvider(state_file, fleet=spec.fleet, clock=clock)
    return _seam(config)


def _seam(config: Config) -> Provider:
    from reconciler.providers.seam import SeamProvider
    from reconciler.providers.seam_client import PUBLIC_ENDPOINT, RetryPolicy, SeamClient

    api_key = os.environ.get("SEAM_API_KEY", "").strip()
    if not api_key:
        raise UsageError(
            "SEAM_API_KEY is not set: export your Seam API key (it is never read from the config)"
        )
    spec = config.provider
    endpoint = _trusted(config) or os.environ.get("SEAM_ENDPOINT") or PUBLIC_ENDPOINT
    client = SeamClient(
        api_key=api_key,
        endpoint=endpoint,
        retry=RetryPolicy(attempts=spec.retries + 1),
        timeout=parse_duration(spec.timeout).total_seconds(),
        max_connections=config.settings.concurrency,
    )
    return SeamProvider(client, pace_writes=spec.pace_writes == "always")


def _trusted(config: Config) -> str | None:
    """The config's `provider.endpoint` if it may receive the API key (`load_config` refuses
    an untrusted one with its line; this holds for a `Config` built any other way too)."""
    endpoint = config.provider.endpoint
    if endpoint is None:
        return None
    refusal = endpoint_refusal(endpoint)
    if refusal is not None:
        file = str(config.paths[0]) if config.paths else "<config>"
        raise ConfigError([Problem(file, 1, 1, "provider.endpoint", refusal)])
    return endpoint


def tamper_simulator(
    config: Config, action: str, device_id: str, name: str | None, code: str | None = None
) -> str:
    """`sim tamper`: make a simulated lock drift; refused for any other provider. Here, so the
    layers above reach providers only through this package and `base`."""
    from reconciler.providers.sim import SimProvider
    from reconciler.providers.simtamper import tamper

    provider = make_provider(config, clock=lambda: datetime.now(UTC))
    if not isinstance(provider, SimProvider):
        raise UsageError("sim tamper works on the simulator only (provider kind: sim)")
    return tamper(provider, action, device_id, name, code)


async def register_webhook(config: Config, url: str) -> WebhookSetup:
    """`webhooks setup`: Seam's webhook posting our events to `url`, made unless the
    workspace already has one for that URL (then it is reported, never made twice). Seam only:
    the simulator has no webhooks (the controller reads its events with `--events poll`)."""
    if config.provider.kind != "seam":
        raise UsageError(
            f"webhooks need provider: seam (this config's provider is {config.provider.kind}; "
            "on the simulator use `accesscodes controller --events poll`)"
        )
    from reconciler.providers.seam import SeamProvider
    from reconciler.providers.seam_events import WebhookSetup, setup_of

    provider = _seam(config)
    assert isinstance(provider, SeamProvider)
    try:
        found = setup_of(await provider.list_webhooks(), url)
        if found is not None:
            return found
        return WebhookSetup(await provider.create_webhook(url), created=True)
    finally:
        await provider.aclose()
