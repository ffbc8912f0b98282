#!/usr/bin/env bash
# jupyter-dataops developer entry point (the Makefile calls this).
#   scripts/dev.sh demo    set up everything, then launch JupyterLab on the demo workspace
#   scripts/dev.sh test    set up everything tests need, then lint and run every test suite
#   scripts/dev.sh setup | lint | pytest | jest | ui | bench
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
VENV=${DATAOPS_VENV:-$ROOT/.venv}
PY=$VENV/bin/python
export PATH="$VENV/bin:$PATH"
# Root needs this for JupyterLab; it does nothing for other users.
export JUPYTER_ALLOW_ROOT=1
UV_ARGS=(--python "$PY" --compile-bytecode -q -c requirements/constraints.txt)

step() { printf '\n==> %s\n' "$*"; }

setup_python() {
  if ! command -v uv >/dev/null 2>&1; then
    step "installing uv"
    python3 -m pip install -q uv
  fi
  if [ ! -x "$PY" ]; then
    step "creating $VENV"
    uv venv -q "$VENV" --python 3.11 2>/dev/null || uv venv -q "$VENV"
  fi
  step "installing JupyterLab and the build tools"
  uv pip install "${UV_ARGS[@]}" "jupyterlab>=4.6,<5" hatchling hatch-nodejs-version \
    "hatch-jupyter-builder>=0.5" editables setuptools wheel
}

build_frontend() {
  step "building the JupyterLab extension (jlpm)"
  jlpm install --immutable >/dev/null
  jlpm build
}

install_package() {
  step "installing jupyter-dataops (editable) with its test, data and model extras"
  uv pip install "${UV_ARGS[@]}" --no-build-isolation -e ".[test,data,models]"
  jupyter labextension develop --overwrite . >/dev/null
  jupyter server extension enable --sys-prefix jupyter_dataops >/dev/null
}

setup() {
  setup_python
  build_frontend
  install_package
}

demo_workspace() {
  # A workspace with the demo notebook, a git + DVC repo with a local remote and the data set,
  # and an MLflow sqlite store. Made once; delete demo-workspace/ to start over.
  local ws=$ROOT/demo-workspace state=$ROOT/demo-workspace/.dataops-demo
  mkdir -p "$ws/data" "$state"
  cp -n demo/*.ipynb "$ws/" 2>/dev/null || true
  if [ ! -d "$ws/.dvc" ]; then
    step "creating the demo workspace (git, DVC with a local remote, data, MLflow store)"
    "$PY" - "$ws/data/diabetes.csv" <<'PYEOF'
import sys
from sklearn.datasets import load_diabetes
load_diabetes(as_frame=True).frame.to_csv(sys.argv[1], index=False)
PYEOF
    (
      cd "$ws"
      git init -q . && git config user.email demo@localhost && git config user.name demo
      dvc init -q
      dvc config cache.type hardlink,copy
      dvc remote add -q -d local "$state/dvc-remote"
      dvc add -q data
      printf '.dataops-demo/\ndataops-jobs/\n.ipynb_checkpoints/\n' >> .gitignore
      git add -A && git commit -qm "demo workspace"
      dvc push -q
    )
  fi
  export MLFLOW_TRACKING_URI="sqlite:///$state/mlflow.db"
}

cmd_demo() {
  setup
  demo_workspace
  step "launching JupyterLab on http://127.0.0.1:${DATAOPS_PORT:-8888}/lab (Ctrl-C to stop)"
  exec jupyter lab --ServerApp.root_dir="$ROOT/demo-workspace" --ServerApp.ip=127.0.0.1 \
    --ServerApp.port="${DATAOPS_PORT:-8888}" --ServerApp.allow_root=True \
    --ServerApp.open_browser=False "$@"
}

ensure_chromium() {
  if [ -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ]; then return; fi
  step "installing Debian's chromium for the UI tests"
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  fi
}

ensure_postgresql() {
  # The store's tests also run on a throwaway PostgreSQL server (tests/pg.py).
  if compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then return; fi
  step "installing Debian's postgresql for the store's tests"
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  else
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  fi
}

cmd_lint() {
  step "ruff, mypy, import contracts"
  ruff check .
  ruff format --check .
  mypy
  lint-imports
  step "OpenAPI: the spec matches the models, the TypeScript types match the spec"
  "$PY" -m jupyter_dataops.server.openapi --check
  jlpm openapi:types >/dev/null
  git diff --exit-code -- src/openapi.d.ts || {
    echo "src/openapi.d.ts is stale: run 'jlpm openapi:types' and commit it" >&2
    exit 1
  }
  step "eslint, prettier"
  jlpm lint:check
}

cmd_jest() {
  step "jest"
  jlpm test
}

cmd_ui() {
  ensure_chromium
  step "galata UI tests in Chromium"
  (
    cd ui-tests
    PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 jlpm install --immutable >/dev/null
    CHROMIUM_PATH=${CHROMIUM_PATH:-/usr/bin/chromium} jlpm playwright test
  )
}

cmd_pytest() {
  ensure_postgresql
  step "pytest"
  "$PY" -m pytest "$@"
}

cmd_test() {
  setup
  ensure_chromium
  ensure_postgresql
  cmd_lint
  cmd_jest
  cmd_ui
  # Last, so its summary is the run's closing line; the slowest tests listed, to keep the
  # whole run under 30 minutes on 2 cores as the suite grows.
  cmd_pytest --durations=15
}

cmd_bench() {
  "$PY" bench/jobs.py "$@"
}

case "${1:-}" in
  demo | test | lint | jest | ui | pytest | bench)
    c=$1
    shift
    "cmd_$c" "$@"
    ;;
  setup) setup ;;
  *)
    echo "usage: scripts/dev.sh demo|test|setup|lint|pytest|jest|ui|bench" >&2
    exit 2
    ;;
esac
