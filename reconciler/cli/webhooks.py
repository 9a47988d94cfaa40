"""`accesscodes webhooks setup --url URL`: tell Seam where the controller takes its events.

Registering a webhook by hand means picking Seam's event types one by one and copying a secret
into the right place; this does both, once. It is idempotent: the workspace's webhooks are
listed first, and one already posting to that URL is reported (with the event types it lacks,
if any), never made a second time, since two webhooks would deliver every event twice. The
signing secret goes in `SEAM_WEBHOOK_SECRET`, which the controller's `/webhooks/seam` checks
every delivery against; it is printed masked unless `--show-secret` asks for it (terminals are
logged and screen-shared). Seam only: the simulator has no webhooks, and says so.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from reconciler.cli.commands import EXIT_OK
from reconciler.cli.toolargs import with_config
from reconciler.core.errors import UsageError

if TYPE_CHECKING:
    from reconciler.config.load import Config
    from reconciler.providers import WebhookSetup

    Subparsers = argparse._SubParsersAction[argparse.ArgumentParser]

ROUTE = "/webhooks/seam"


def add_webhooks(subparsers: Subparsers) -> None:
    """`webhooks setup`."""
    webhooks = subparsers.add_parser("webhooks", help="Seam's webhooks for the controller")
    actions = webhooks.add_subparsers(dest="webhooks_command", metavar="ACTION", required=True)
    setup = actions.add_parser(
        "setup", help="register the controller's /webhooks/seam with Seam (once; idempotent)"
    )
    with_config(setup)
    setup.add_argument(
        "--url",
        required=True,
        metavar="URL",
        help="where Seam can reach the controller, e.g. https://locks.example.com/webhooks/seam",
    )
    setup.add_argument(
        "--show-secret", action="store_true", help="print the signing secret instead of ****"
    )


async def webhooks_command(config: Config, args: argparse.Namespace) -> int:
    """`webhooks setup`: the webhook made or found, and where its secret goes."""
    from reconciler.providers import register_webhook

    url = checked_url(args.url)
    setup = await register_webhook(config, url)
    print("\n".join(describe(setup, show_secret=args.show_secret)))
    return EXIT_OK


def checked_url(url: str) -> str:
    """A URL Seam can post to: http(s) with a host. Anything else is refused before Seam is
    asked."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UsageError(f"--url must be an http(s) URL with a host, not {url!r}")
    return url.strip()


def describe(setup: WebhookSetup, *, show_secret: bool) -> list[str]:
    """What was done, the secret (masked unless asked) and where it goes."""
    hook = setup.webhook
    if setup.created:
        lines = [
            f"Created Seam webhook {hook.webhook_id} for {hook.url} "
            f"({len(hook.event_types)} event types)."
        ]
    else:
        lines = [f"Seam webhook {hook.webhook_id} already posts to {hook.url}: nothing created."]
        if setup.missing:
            lines.append(
                f"It does not receive {', '.join(setup.missing)}: delete it in Seam and run "
                "this again to get them."
            )
    if not urlsplit(hook.url).path.rstrip("/").endswith(ROUTE):
        lines.append(f"Note: the controller takes events on {ROUTE}; is the URL's path right?")
    if hook.secret is None:
        lines.append("Seam did not return its signing secret: find it in the Seam console.")
    else:
        shown = hook.secret if show_secret else mask_secret(hook.secret)
        hint = "" if show_secret else " (--show-secret prints it)"
        lines.append(f"Signing secret: {shown}{hint}")
    lines.append(
        "Give the secret to the controller as SEAM_WEBHOOK_SECRET (a Kubernetes Secret, not "
        "the config) and run: accesscodes controller --listen HOST:PORT --events webhook"
    )
    return lines


def mask_secret(secret: str) -> str:
    """The secret's kind prefix (`whsec_`) and **** for the rest: the part after the first
    underscore may hold underscores too, and none of it is shown."""
    prefix, sep, rest = secret.partition("_")
    return f"{prefix}{sep}****" if prefix == "whsec" and len(rest) >= 8 else "****"
