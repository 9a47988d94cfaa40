"""What a config may reach: the config is a pull request author's, the environment the operator's.

A pull request can change every line of the config, and the GitHub Action posts its plan as a
comment. So the config must not be able to copy a secret from the environment into a field
that is printed (a code's `name`), nor send the Seam API key to a host of its choosing
(`provider.endpoint`). The rules, in one place so that a new field is one line:

`${VAR}` (read by `yamlsource` with the path of each value):

| where                                   | which variables                                   |
|-----------------------------------------|---------------------------------------------------|
| a field of `SECRET_FIELDS` (masked in   | any, except the denied ones                       |
| every output: PINs, the webhook URL)    |                                                   |
| any other field, and every key          | only those the config lists under `variables:`    |
| any other field, even if listed         | never a name that says it holds a secret (a word  |
|                                         | of `SECRET_WORDS`: `BOB_PIN`, `SLACK_TOKEN`)      |
| anywhere, even if listed                | never `DENIED_VARIABLES` nor `ACCESSCODES_*`      |

A value read from the environment into a secret field may not be copied elsewhere with a YAML
alias either. `variables:` is a top-level key like `settings:`: written in one file of a
directory config, it applies to all of its files.

`provider.endpoint` from the config is trusted only for loopback hosts and Seam's own
(`connect.getseam.com`, `*.getseam.com`, over https); the operator allows more hosts with
`ACCESSCODES_ALLOW_ENDPOINT=host[,host...]`. `SEAM_ENDPOINT` comes from the environment and is
always trusted.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

FieldPath = tuple[str | int, ...]
ANY = "*"  # in a field pattern: any key or list index

# Fields whose values are secrets: masked in every output, so they may read any variable that
# is not denied. One line per field (a pattern of keys, ANY for a device key or a list index).
SECRET_FIELDS: tuple[tuple[str, ...], ...] = (
    ("devices", ANY, "codes", ANY, "code"),  # a code's PIN
    ("people", ANY, "code"),  # a person's PIN, on all their doors
    ("stays", ANY, "code"),  # a guest's PIN
    ("places", ANY, "turnover", "code"),  # the cleaner's PIN
    ("sources", ANY, "ical"),  # a feed URL: its query holds the calendar's token
    ("settings", "webhook_url"),  # a URL that usually embeds a token (Slack, Teams)
)

# The secrets of accesscodes itself and of the CI running it: never read by a config.
DENIED_VARIABLES = frozenset(
    {
        "SEAM_API_KEY",
        "SEAM_WEBHOOK_SECRET",
        "GITHUB_TOKEN",
        "ACTIONS_RUNTIME_TOKEN",
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
    }
)
DENIED_PREFIXES = ("ACCESSCODES_",)
# A variable whose name has one of these words (split on `_`) holds a secret: `variables:` is
# written by the same pull request author, so declaring `BOB_PIN` must not let a name print it.
SECRET_WORDS = frozenset(
    {
        "PIN",
        "PINS",
        "CODE",
        "KEY",
        "SECRET",
        "TOKEN",
        "PASSWORD",
        "PASS",
        "PASSWD",
        "AUTH",
        "CREDENTIAL",
        "CREDENTIALS",
        "PRIVATE",
        "SIGNATURE",
        "COOKIE",
        "SESSION",
    }
)

VARIABLE_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"

VariableRule = Literal["denied", "any", "declared", "secret_name"]


def is_secret_field(path: FieldPath) -> bool:
    """Whether the value at `path` is one of `SECRET_FIELDS` (a PIN, the webhook URL)."""
    return any(_matches(pattern, path) for pattern in SECRET_FIELDS)


def _matches(pattern: tuple[str, ...], path: FieldPath) -> bool:
    return len(pattern) == len(path) and all(
        want in (ANY, part) for want, part in zip(pattern, path, strict=True)
    )


def is_denied(name: str) -> bool:
    """Whether `${name}` is a secret of accesscodes or of the CI (case-insensitively)."""
    upper = name.upper()
    return upper in DENIED_VARIABLES or upper.startswith(DENIED_PREFIXES)


def variable_rule(name: str, path: FieldPath, *, key: bool = False) -> VariableRule:
    """Which rule of the table applies to `${name}` written at `path` (a key if `key`)."""
    if is_denied(name):
        return "denied"
    if not key and is_secret_field(path):
        return "any"
    if looks_secret(name):
        return "secret_name"
    return "declared"


def looks_secret(name: str) -> bool:
    """Whether a variable's name says it holds a secret (`BOB_PIN`, `SLACK_WEBHOOK_TOKEN`)."""
    return any(word in SECRET_WORDS for word in name.upper().split("_"))


def secret_name_message(name: str) -> str:
    """The problem for a secret-looking variable outside a secret field: names it only."""
    return (
        f"${{{name}}} holds a secret by its name: it may be used only in a code's code or "
        "settings.webhook_url, where it is masked"
    )


def denied_message(name: str) -> str:
    """The problem for a denied variable: names it, never its value."""
    return f"${{{name}}} may not be used in the config (it is a secret of accesscodes)"


def undeclared_message(name: str) -> str:
    """The problem for a variable the config did not declare, and how to declare it."""
    return (
        f"${{{name}}} is not declared under variables: (list it there to use it here; "
        "a code's code and settings.webhook_url may use any variable)"
    )


ALLOW_ENDPOINT = "ACCESSCODES_ALLOW_ENDPOINT"
SEAM_DOMAIN = "getseam.com"
_UNSAFE = re.compile(r"[^\x21-\x7e]|[@\\]")  # ASCII only, no userinfo or backslash


def endpoint_refusal(endpoint: str, environ: Mapping[str, str] | None = None) -> str | None:
    """Why the config's `provider.endpoint` may not receive the API key, or None if it may."""
    env = os.environ if environ is None else environ
    how = (
        f"the Seam API key would be sent there; if you trust it, set {ALLOW_ENDPOINT}=HOST "
        "in the environment (or SEAM_ENDPOINT instead of provider.endpoint)"
    )
    if _UNSAFE.search(endpoint):
        return f"an endpoint may hold only printable ASCII, without '@' or '\\': {how}"
    parts = urlsplit(endpoint)
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("http", "https") or not host:
        return "must be an http:// or https:// URL with a host"
    allowed = {h.strip().lower() for h in env.get(ALLOW_ENDPOINT, "").split(",") if h.strip()}
    if host in allowed or _is_loopback(host):
        return None
    if host == f"connect.{SEAM_DOMAIN}" or host.endswith(f".{SEAM_DOMAIN}"):
        return None if parts.scheme == "https" else f"Seam's API is reached over https: {how}"
    return f"host {host!r} is neither loopback nor Seam's ({SEAM_DOMAIN}): {how}"


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def readable_file(base: Path, name: str) -> bool:
    """Whether a file the config names (a policy, a feed) is inside the config's folder or the
    working directory (the repository, in CI): a pull request must not make accesscodes read
    any other file of the machine, whose text a refusal could quote into a plan comment."""
    target = (base / name).resolve()
    return any(target.is_relative_to(root) for root in (base.resolve(), Path.cwd().resolve()))
