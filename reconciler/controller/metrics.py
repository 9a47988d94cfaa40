"""What the controller counts, in Prometheus' text format, and the health it reports.

Kept apart from the loop so both the HTTP endpoints and the tests read the same numbers.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime


@dataclass
class Metrics:
    """Counters and gauges of one controller process."""

    reconciles: Counter[str] = field(default_factory=Counter)  # result -> count
    last_duration: float = 0.0
    duration_sum: float = 0.0
    changes: Counter[tuple[str, str]] = field(default_factory=Counter)  # (action, result)
    drift: Counter[str] = field(default_factory=Counter)  # kind -> current count
    provider_errors: Counter[str] = field(default_factory=Counter)  # code -> count
    reconcile_errors: Counter[str] = field(default_factory=Counter)  # exception type -> count
    notices_pending: int = 0
    codes_managed: int = 0
    last_success: datetime | None = None
    last_ok: bool = False
    devices: dict[str, tuple[str, str]] = field(default_factory=dict)  # key -> (sync, health)

    def render(self) -> str:
        """The /metrics page."""
        lines = [
            "# HELP accesscodes_reconcile_total Reconcile runs by result.",
            "# TYPE accesscodes_reconcile_total counter",
            *(
                f'accesscodes_reconcile_total{{result="{r}"}} {n}'
                for r, n in sorted(self.reconciles.items())
            ),
            "# HELP accesscodes_reconcile_duration_seconds Time taken by reconcile runs.",
            "# TYPE accesscodes_reconcile_duration_seconds summary",
            f"accesscodes_reconcile_duration_seconds_sum {self.duration_sum:.6f}",
            f"accesscodes_reconcile_duration_seconds_count {sum(self.reconciles.values())}",
            "# HELP accesscodes_last_reconcile_duration_seconds The last run's duration.",
            "# TYPE accesscodes_last_reconcile_duration_seconds gauge",
            f"accesscodes_last_reconcile_duration_seconds {self.last_duration:.6f}",
            "# HELP accesscodes_changes_total Changes applied, by action and result.",
            "# TYPE accesscodes_changes_total counter",
            *(
                f'accesscodes_changes_total{{action="{a}",result="{r}"}} {n}'
                for (a, r), n in sorted(self.changes.items())
            ),
            "# HELP accesscodes_drift Drift found in the last run, by kind.",
            "# TYPE accesscodes_drift gauge",
            *(f'accesscodes_drift{{kind="{k}"}} {n}' for k, n in sorted(self.drift.items())),
            "# HELP accesscodes_provider_errors_total Provider errors, by error code.",
            "# TYPE accesscodes_provider_errors_total counter",
            *(
                f'accesscodes_provider_errors_total{{code="{c}"}} {n}'
                for c, n in sorted(self.provider_errors.items())
            ),
            "# HELP accesscodes_reconcile_errors_total Failed runs, by the error's type.",
            "# TYPE accesscodes_reconcile_errors_total counter",
            *(
                f'accesscodes_reconcile_errors_total{{kind="{k}"}} {n}'
                for k, n in sorted(self.reconcile_errors.items())
            ),
            "# HELP accesscodes_notices_pending Notices the webhook has not accepted yet.",
            "# TYPE accesscodes_notices_pending gauge",
            f"accesscodes_notices_pending {self.notices_pending}",
            "# HELP accesscodes_codes_managed Managed codes on the listed locks.",
            "# TYPE accesscodes_codes_managed gauge",
            f"accesscodes_codes_managed {self.codes_managed}",
            "# HELP accesscodes_device_in_sync 1 when the lock matches the config.",
            "# TYPE accesscodes_device_in_sync gauge",
            *(
                f'accesscodes_device_in_sync{{device="{d}"}} {int(s == "in_sync")}'
                for d, (s, _) in sorted(self.devices.items())
            ),
            "# HELP accesscodes_device_healthy 1 when no code on the lock is failing or pending.",
            "# TYPE accesscodes_device_healthy gauge",
            *(
                f'accesscodes_device_healthy{{device="{d}",health="{h}"}} {int(h == "healthy")}'
                for d, (_, h) in sorted(self.devices.items())
            ),
        ]
        if self.last_success is not None:
            lines += [
                "# HELP accesscodes_last_success_timestamp_seconds End of the last good run.",
                "# TYPE accesscodes_last_success_timestamp_seconds gauge",
                f"accesscodes_last_success_timestamp_seconds {self.last_success.timestamp():.0f}",
            ]
        return "\n".join(lines) + "\n"
