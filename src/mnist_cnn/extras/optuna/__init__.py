"""Extra: Optuna searches. `python train.py -m hparams_search=optuna` (conf/hparams_search/):
our Hydra sweeper on current Optuna (named to Hydra in src/hydra_plugins/mnist_cnn/), persistent
shared studies (storage), per-epoch pruning inside each job (pruning); `pip install -e
".[optuna]"`. See docs/optuna.md."""
