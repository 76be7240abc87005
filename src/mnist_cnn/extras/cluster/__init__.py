"""Extra: clusters. SLURM through Hydra (`hydra/launcher=slurm`, conf/hydra/launcher/), DDP
inside a multirun (a Hydra callback, conf/hydra/cluster/multirun_ddp.yaml) and a one-node SLURM
cluster on this machine for trying it (local_slurm.sh); `pip install -e ".[cluster]"`."""

from mnist_cnn.extras.cluster.multirun_ddp import MultirunDDP

__all__ = ["MultirunDDP"]
