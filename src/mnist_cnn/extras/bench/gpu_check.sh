#!/usr/bin/env bash
# The GPU figures for docs/performance.md, in one call of at most 8 minutes on one CUDA GPU:
#   src/mnist_cnn/extras/bench/gpu_check.sh [DATA]    DATA holds MNIST/raw (default ../shared/data/mnist)
#   OUT=folder for benchmark.json and the run folder (default outputs/gpu_check)
# 1. the benchmark (python -m mnist_cnn.extras.bench.benchmark) on the GPU: article loop, Keras fit, train.py fp32 and bf16, hand loop,
#    the speedrun over 5 seeds (at most 5 minutes);
# 2. the 15-epoch default recipe, fit time and test accuracy (at most 3 minutes).
set -euo pipefail
cd "$(dirname "$0")/../../../.."  # the checkout
PY=${PYTHON:-.venv/bin/python}
[ -x "$PY" ] || PY=python3
DATA=${1:-../shared/data/mnist}
OUT=${OUT:-outputs/gpu_check}
mkdir -p "$OUT"
[ -d "$DATA/MNIST/raw" ] || { echo "no MNIST/raw under $DATA: pass the data folder" >&2; exit 2; }

nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
timeout 300 "$PY" -m mnist_cnn.extras.bench.benchmark --device cuda --data-dir "$DATA" --repeats 2 \
  --json "$OUT/benchmark.json" || echo "benchmark: exit $? (124: over its 5 minutes)"
timeout 180 "$PY" train.py trainer=gpu data.data_dir="$DATA" data.download=false logger=none \
  hydra.run.dir="$OUT/default" || echo "default recipe: exit $? (124: over its 3 minutes)"
"$PY" - "$OUT/default/metrics.json" <<'PY'
import json, pathlib, sys
path = pathlib.Path(sys.argv[1])
if path.exists():
    m = json.loads(path.read_text())
    print(f"default: fit {m['fit_time_s']:.2f} s over {m['epochs']} epochs, test/acc {m['test/acc']:.4f}")
PY
