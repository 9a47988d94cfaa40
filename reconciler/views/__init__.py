"""What people look at, drawn: the timeline picture (SVG, a self-contained HTML page, a mermaid
chart for GitHub) and the controller's status page.

A layer of its own beside `apply`, below `cli` and `controller`, because both of them show the
same picture: `accesscodes timeline --format html|svg` and the controller's page at `/`. It
reads plain values only (`planning.timeline.Timeline`, `core.plan.Drift`, and the status
values the controller gathers), does no I/O and never sees a PIN: timeline entries carry none,
and every name is masked of the config's PINs all the same before it is written.

- `picture`: the layout (doors grouped by place, lanes, bars, marks, the axis), no markup;
- `svg`: the picture as inline SVG, every name escaped;
- `page`: the HTML shell both pages share (inline CSS, no script, a CSP that allows no
  network) and the timeline page;
- `status`: the controller's status page;
- `mermaid`: a mermaid gantt chart of a few doors, for the GitHub Action's job summary.
"""
