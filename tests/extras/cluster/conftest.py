"""Fixtures of the cluster extra's tests: a real one-node SLURM cluster, where asked for."""

from __future__ import annotations

import os
import subprocess

import pytest

from tests.fixtures import REPO

# The real-SLURM tests install system packages as root, so they run only where this is "1".
SLURM_TESTS_ENV = "MNIST_CNN_SLURM_TESTS"
LOCAL_SLURM = REPO / "src" / "mnist_cnn" / "extras" / "cluster" / "local_slurm.sh"


@pytest.fixture(scope="session")
def slurm_partition():
    """A real one-node SLURM cluster's partition, only where asked for (MNIST_CNN_SLURM_TESTS=1,
    as .ci/run sets): local_slurm.sh then installs and starts one (as root) if none
    answers, shut down after the session. Otherwise, or when it fails, skips saying why."""
    if os.environ.get(SLURM_TESTS_ENV) != "1":
        pytest.skip(
            f"real-SLURM tests are opt-in: {SLURM_TESTS_ENV}=1 runs them (as root they install "
            f"Debian's slurmctld, slurmd and munge with apt and start a one-node cluster)"
        )
    munge_was_up = subprocess.run(["pgrep", "-x", "munged"], capture_output=True).returncode == 0
    result = subprocess.run(["bash", str(LOCAL_SLURM)], capture_output=True, text=True, timeout=600)
    if result.returncode != 0:
        pytest.skip(f"no SLURM cluster: {result.stderr.strip()}")
    yield "debug"
    if result.stdout.strip() == "started":  # one that ran before the session stays up
        subprocess.run(["scontrol", "shutdown"], capture_output=True, timeout=60)
        if not munge_was_up:
            subprocess.run(["pkill", "-x", "munged"], capture_output=True, timeout=60)
