"""The work behind each CLI command: load, plan, apply, print.

`cli.py` only parses arguments and turns errors into exit codes; each function here runs one
command from parsed arguments and returns its exit code. `plan` and `apply` live in
`planapply.py`.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from reconciler.core.errors import ConfigError, UsageError

if TYPE_CHECKING:
    from reconciler.apply.run import PlannedRun
    from reconciler.config.load import Config
    from reconciler.planning.timeline import Timeline

EXIT_OK, EXIT_ERROR, EXIT_CHANGES = 0, 1, 2


async def check_devices(config: Config) -> str:
    """Check each code against its lock's capabilities; raise `ConfigError` on problems.
    Returns a note when the provider cannot be asked (no key, unreachable)."""
    from reconciler.core.errors import ProviderError
    from reconciler.planning.devicecheck import device_problems
    from reconciler.providers import make_provider

    now = datetime.now(UTC)
    try:
        provider = make_provider(config, clock=lambda: now)
    except UsageError as exc:
        return f"Note: device checks skipped: {exc}"
    try:
        devices = await provider.list_devices([d.device_id for d in config.devices])
    except ProviderError as exc:
        return f"Note: device checks skipped: {exc}"
    finally:
        await provider.aclose()
    problems = device_problems(config, {d.device_id: d for d in devices}, now=now)
    if problems:
        raise ConfigError(problems)
    return ""


async def timeline_command(args: argparse.Namespace, config: Config) -> int:
    """Read only the selected locks, plan, and show the plan as a timeline (never a PIN):
    tables on a terminal, aligned plain columns elsewhere (`terminal.use_colour`), JSON, or a
    picture (`--format html|svg|mermaid`); `-o FILE` writes it to a file instead."""
    from dataclasses import replace

    from reconciler.apply.run import open_journal, plan_run
    from reconciler.cli import terminal
    from reconciler.cli.timeline_view import (
        render_timeline_json,
        render_timeline_text,
        timeline_renderables,
    )
    from reconciler.planning.timeline import build_timeline, select_devices
    from reconciler.providers import make_provider

    fixed_now: datetime | None = args.now
    config = replace(config, devices=select_devices(config.devices, args.device))
    provider = make_provider(config, clock=lambda: fixed_now or datetime.now(UTC))
    journal = open_journal(config, create=False)  # as `plan`: drift is known from it
    try:
        with terminal.progress(len(config.devices), "Reading locks") as tick:
            planned = await plan_run(
                config,
                provider,
                now=fixed_now or datetime.now(UTC),
                journal=journal,
                on_device_read=tick,
            )
    finally:
        await provider.aclose()
        if journal is not None:
            journal.close()
    capabilities = {key: live.device.capabilities for key, live in planned.live.items()}
    timeline = build_timeline(
        config.devices,
        planned.plan,
        capabilities,
        config.settings,
        start=args.start,
        end=args.end,
    )
    if args.format in ("text", "json") and args.output is None:
        if args.format == "json":
            sys.stdout.write(render_timeline_json(timeline))
        else:
            terminal.write_either(
                sys.stdout,
                lambda: render_timeline_text(timeline),
                lambda: timeline_renderables(timeline),
            )
        return EXIT_OK
    text = _timeline_file(args.format, timeline, config, planned)
    if args.output is None:
        sys.stdout.write(text)
    else:
        args.output.write_text(text, encoding="utf-8")
        print(f"Wrote {args.output} ({len(text.encode()):,} bytes).", file=sys.stderr)
    return EXIT_OK


def _timeline_file(form: str, timeline: Timeline, config: Config, planned: PlannedRun) -> str:
    """The timeline in `form` as a file holds it: plain text, JSON, or a picture whose names
    are masked of every PIN the run knows (the config's and the people's and stays')."""
    from reconciler.cli.timeline_view import (
        render_timeline_json,
        render_timeline_picture,
        render_timeline_text,
    )

    if form == "json":
        return render_timeline_json(timeline)
    if form == "text":
        return render_timeline_text(timeline)
    pins = [c.code for d in config.devices for c in d.codes if c.code]
    return render_timeline_picture(
        timeline,
        form,
        places={name: place.doors for name, place in config.places.items()},
        drift=planned.plan.drift,
        pins=[*pins, *planned.keep_pins.values()],
    )


async def import_command(args: argparse.Namespace) -> int:
    """Write config for the codes on the locks; its files may hold PINs, so they are 0600, and
    nothing is written when two codes would collide (`importer.ImportConflict`)."""
    from reconciler.apply.importer import import_config
    from reconciler.config.load import Config, load_config
    from reconciler.config.schema import ProviderConfig
    from reconciler.core.models import DeviceId, DeviceKey
    from reconciler.core.settings import Settings
    from reconciler.providers import make_provider
    from reconciler.state.privatefile import write_private

    devices: list[tuple[DeviceKey, DeviceId]] = []
    if args.config.exists():
        config = load_config(args.config)
        devices = [(d.key, d.device_id) for d in config.devices]
        provider_spec = config.provider
    else:
        provider_spec = ProviderConfig(kind=args.provider or "sim")
        config = Config((), Path.cwd(), provider_spec, Settings(), ())
    for item in args.device:
        key, sep, device_id = item.partition("=")
        if not sep or not key or not device_id:
            raise UsageError(f"--device takes KEY=DEVICE_ID, not {item!r}")
        devices = [d for d in devices if d[0] != key] + [(DeviceKey(key), DeviceId(device_id))]
    if not devices:
        raise UsageError("nothing to import: name locks with --device KEY=DEVICE_ID")
    provider = make_provider(config, clock=lambda: datetime.now(UTC))
    fields = {"kind": provider_spec.kind}
    fields.update(provider_spec.model_dump(exclude_defaults=True, exclude={"kind"}))
    provider_yaml = "provider:\n" + "".join(f"  {k}: {json.dumps(v)}\n" for k, v in fields.items())
    try:
        result = await import_config(
            provider,
            devices,
            provider_yaml=provider_yaml,
            literal_codes=args.show_codes,
            include_unmanaged=args.include_unmanaged,
        )
    finally:
        await provider.aclose()
    # Both may hold PINs (the env file; the YAML with --show-codes): 0600, replaced atomically.
    writes = [(args.out, result.yaml)] if args.out else []
    if args.env_file and result.env:
        writes.append((args.env_file, "".join(f"{k}={v}\n" for k, v in result.env.items())))
    for target, text in writes:
        try:
            write_private(target, text)
        except OSError as exc:
            raise UsageError(f"cannot write {target}: {exc.strerror}") from exc
    if not args.out:
        sys.stdout.write(result.yaml)
    if result.env and not args.env_file:
        print(
            f"{len(result.env)} PINs are ${{VAR}} references; --env-file FILE writes their values",
            file=sys.stderr,
        )
    for device_id in result.missing:
        print(f"Warning: the provider does not know device {device_id}", file=sys.stderr)
    return EXIT_ERROR if result.missing else EXIT_OK


def tamper_command(config: Config, args: argparse.Namespace) -> int:
    """`sim tamper`: make a simulated lock drift, to see how plans and the controller react."""
    from reconciler.providers import tamper_simulator

    print(tamper_simulator(config, args.action, args.device_id, args.name, args.code))
    return EXIT_OK


def history_command(config: Config, limit: int, *, usage: bool = False) -> int:
    """`history`: the journal's last runs and their changes (names, never PINs): a table per
    run on a terminal, one line per run and change elsewhere (`terminal.use_colour`). With
    `usage`: the doors opened with a code, as the controller recorded them from Seam's events
    (when, which door, whose code; never a PIN)."""
    from reconciler.apply.run import open_journal
    from reconciler.cli import terminal
    from reconciler.cli.history_view import (
        NO_USAGE,
        history_renderables,
        render_history_text,
        render_usage_text,
        usage_renderables,
    )

    journal = open_journal(config, create=False)
    if journal is None:
        print(NO_USAGE if usage else "No applies recorded yet.")
        return EXIT_OK
    try:
        if usage:
            unlocks = journal.events.usage(limit)
        else:
            rows = journal.history(limit)
    finally:
        journal.close()
    if usage:
        terminal.write_either(
            sys.stdout, lambda: render_usage_text(unlocks), lambda: usage_renderables(unlocks)
        )
        return EXIT_OK
    if not rows:  # a shared state store exists before this config's first apply
        print("No applies recorded yet.")
        return EXIT_OK
    terminal.write_either(
        sys.stdout, lambda: render_history_text(rows), lambda: history_renderables(rows)
    )
    return EXIT_OK


def rotate_command(config: Config, name: str) -> int:
    """`rotate NAME`: ask for a new PIN for exactly one person or stay. Nothing is sent here:
    the next plan shows the new PIN going onto each of their doors, and apply keeps it."""
    from reconciler.apply.run import open_journal

    matches = [
        h for h in config.holders if name in (h.label, h.key.partition(":")[2]) or h.key == name
    ]
    if not matches:
        known = ", ".join(sorted({h.label for h in config.holders})) or "none"
        raise UsageError(f"no person or stay is called {name!r} (people and stays: {known})")
    if len(matches) > 1:
        keys = ", ".join(h.key for h in matches)
        raise UsageError(f"{name!r} names more than one person or stay ({keys}): use its id")
    holder = matches[0]
    if holder.given_pin:
        raise UsageError(f"{holder.label}'s PIN is written in the config: change it there")
    if holder.pin_per_door:
        raise UsageError(
            f"{holder.label} has a PIN per door (pin_per_door: true): nothing to rotate"
        )
    journal = open_journal(config, create=True)
    assert journal is not None
    try:
        journal.pins.rotate(holder.key, datetime.now(UTC))
    finally:
        journal.close()
    print(
        f"{holder.label} gets a new PIN at the next apply (see it in `accesscodes plan`); "
        "the old PIN works until then."
    )
    return EXIT_OK
