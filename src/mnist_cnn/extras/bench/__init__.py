"""Extra: benchmarks and profiling. `python -m mnist_cnn.extras.bench.benchmark` (make benchmark)
times this project against the article's loop and Keras; `profile_epoch` breaks an epoch down
with torch.profiler; gpu_check.sh runs both on a GPU. `pip install -e ".[bench]"` (Keras 3)."""
