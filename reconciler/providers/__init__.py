"""Providers: where live codes are read and written. `make_provider` picks one from config."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from reconciler.config import Config
from reconciler.errors import UsageError
from reconciler.providers.base import Provider

DEFAULT_SIM_STATE = Path(".accesscodes") / "sim.json"


def make_provider(config: Config, *, clock: Callable[[], datetime]) -> Provider:
    """The provider a config names, built with the injected clock."""
    spec = config.provider
    if spec.kind == "sim":
        from reconciler.providers.sim import SimProvider

        state_file = config.base_dir / (spec.state_file or DEFAULT_SIM_STATE)
        return SimProvider(state_file, fleet=spec.fleet, clock=clock)
    raise UsageError(f"provider kind '{spec.kind}' is not available yet (use kind: sim)")
