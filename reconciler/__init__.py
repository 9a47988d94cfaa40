"""accesscodes: GitOps for smart-lock access codes.

The package reads desired codes from YAML (`config`), reads live codes through a provider
(`providers`), diffs them in a pure planner (`planner`) into a `Plan` (`plan`), renders it
(`render`) and carries it out (`applier`). The CLI (`cli`) only wires these together.
"""

__version__ = "0.1.0"
