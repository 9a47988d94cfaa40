#!/usr/bin/env bash
# Mutation testing of the planning core (reconciler/core/plan.py, planner.py, schedule.py, review.py)
# with mutmut, as configured in pyproject.toml [tool.mutmut]. Not part of CI: it takes about
# 25 minutes on 2 cores (docs/quality.md has the figures of the last run and what survived).
#
#   python3 -m pip install -e '.[test,mutation]'
#   tools/mutation.sh                  # the whole run, then the counts and the survivors
#   tools/mutation.sh 'reconciler.plan.x_Plan__refusals*'   # only these mutants again
#
# MUTATION_TIMEOUT (default 60m) bounds the run; MUTATION_CHILDREN (default 2) is how many
# mutants are tested at once. mutmut keeps its work in mutants/ (ignored by git) and resumes
# where it stopped; delete the folder to start again from scratch.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! python3 -c "import mutmut" 2>/dev/null; then
  echo "mutmut is not installed: python3 -m pip install -e '.[test,mutation]'" >&2
  exit 1
fi

status=0
started=$(date +%s)
timeout "${MUTATION_TIMEOUT:-60m}" \
  python3 -m mutmut run --max-children "${MUTATION_CHILDREN:-2}" "$@" || status=$?
echo
echo "mutmut ran for $(( ($(date +%s) - started) / 60 )) min (exit $status; 124: the timeout)"

python3 -m mutmut export-cicd-stats >/dev/null
python3 - <<'EOF'
import json
from pathlib import Path

stats = json.loads(Path("mutants/mutmut-cicd-stats.json").read_text())
keys = ("killed", "survived", "timeout", "no_tests", "suspicious", "skipped", "total")
print("  ".join(f"{key} {stats.get(key, 0)}" for key in keys))
EOF
echo "Survivors (python3 -m mutmut show NAME prints one's diff):"
python3 -m mutmut results
exit "$status"
