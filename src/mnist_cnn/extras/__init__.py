"""Optional parts, one folder each, with its configs, tests, docs and pip extra: trackers,
optuna, keras, cluster, bench. The core never imports one (tests/test_layering.py); a fork that
does not keep one loses nothing else (copier.yml, docs/make-it-yours.md)."""
