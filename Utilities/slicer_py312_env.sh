#!/usr/bin/env bash
# Reproduce 3D Slicer 5.10's Python (3.12 + the packages its SuperBuild pins) in a venv and check NBRisk there:
# the module opens without PyYAML, the dependency installer resolves without replacing a bundled package,
# and the module's self-test passes on real MRML (slicer-core). Takes ~5-10 min (pyradiomics-bhklab builds
# from source); Testing/slicer_layer/test_slicer_python.py runs it when NBRISK_PY312 names a Python 3.12.
#
# usage: Utilities/slicer_py312_env.sh PYTHON3.12 VENV_DIR
set -euo pipefail
PY="${1:?usage: $0 PYTHON3.12 VENV_DIR}"
VENV="${2:?usage: $0 PYTHON3.12 VENV_DIR}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PINS="$ROOT/NBRiskModule/Resources/slicer_bundled_packages.txt"
"$PY" -c 'import sys; assert sys.version_info[:2] == (3, 12), sys.version' \
  || { echo "error: $PY is not Python 3.12 (Slicer 5.10 ships 3.12.10)" >&2; exit 2; }
# a fresh venv every run: the last run's step 4 installed NBRisk's requirements (PyYAML among them) into it, and a
# reused venv no longer reproduces Slicer before the install (pip's wheel cache keeps the rebuild short)
if [ -e "$VENV" ]; then
  [ -f "$VENV/pyvenv.cfg" ] || { echo "error: $VENV exists and is not a venv; give another VENV_DIR" >&2; exit 2; }
  rm -rf "$VENV"
fi
"$PY" -m venv "$VENV"
echo "[1/4] Slicer 5.10's bundled packages ($PINS)" >&2
"$VENV/bin/python" -m pip install -q -r "$PINS"
echo "[2/4] test harness only (not part of Slicer): slicer-core (real MRML), PySide6 (Qt widgets)" >&2
"$VENV/bin/python" -m pip install -q -c "$PINS" "slicer-core==5.12.4.0" "PySide6-Essentials>=6.6" pytest
echo "[3/4] module opens without PyYAML; installer plan keeps every bundled package" >&2
"$VENV/bin/python" "$ROOT/Utilities/slicer_py312_check.py" before-install
echo "[4/4] install NBRisk's requirements as the panel would (with the bundled pins), then the self-test" >&2
"$VENV/bin/python" "$ROOT/Utilities/slicer_py312_check.py" install
"$VENV/bin/python" "$ROOT/Utilities/slicer_py312_check.py" selftest
