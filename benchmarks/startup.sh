#!/bin/bash
# Start-up of the `tonecls score` command, whole process: an archive of 2 rows and one statement.
#
#   PYTHON=.venv/bin/python bash benchmarks/startup.sh CHECKOUT [RUNS]
#
# Runs tonecls from CHECKOUT (a checkout of this repository, e.g. a worktree of an older commit)
# with the given Python, its default model, one warm-up each (which fills the cache), then RUNS
# (default 3) timed runs of each; prints wall seconds and peak resident memory (GNU time).
set -euo pipefail
SRC=$(cd "$1" && pwd)
RUNS=${2:-3}
PY=${PYTHON:-python}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
"$PY" -c "import pyarrow as pa, pyarrow.parquet as pq; pq.write_table(pa.table({'id': [1, 2], 'text': ['We welcome the talks.', 'We will respond.']}), '$TMP/in.parquet')"
tonecls=("$PY" -c "import sys; sys.path.insert(0, '$SRC'); from tonecls.cli import main; sys.exit(main(sys.argv[1:]))")
archive=(score "$TMP/in.parquet" -o "$TMP/out.parquet" --threads 2 --no-progress --overwrite)
statement=(score "We will take all necessary measures.")
"${tonecls[@]}" "${archive[@]}" >/dev/null 2>&1
"${tonecls[@]}" "${statement[@]}" >/dev/null 2>&1
for _ in $(seq "$RUNS"); do
  /usr/bin/time -f "archive of 2 rows: %e s, %M KB" "${tonecls[@]}" "${archive[@]}" 2>&1 >/dev/null | grep "archive of"
  /usr/bin/time -f "one statement: %e s, %M KB" "${tonecls[@]}" "${statement[@]}" 2>&1 >/dev/null | grep "one statement"
done
