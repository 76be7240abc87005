"""What a sweep leaves: optimization_results.yaml with Hydra's plugin's keys, and for two
objectives the Pareto front (`solutions`, pareto_front.png) from the real train.py."""

import json

from omegaconf import OmegaConf

from mnist_cnn.models import MnistCNN


def _dominates(a, b, signs):
    """Whether values `a` are at least as good as `b` in every objective and better in one."""
    better = [sign * (x - y) for x, y, sign in zip(a, b, signs, strict=True)]
    return all(d >= 0 for d in better) and any(d > 0 for d in better)


def test_a_two_objective_search_keeps_its_pareto_front(front_sweep):
    results = OmegaConf.to_container(OmegaConf.load(front_sweep / "optimization_results.yaml"))
    assert results["name"] == "optuna" and "best_value" not in results
    assert results["objectives"] == {"val/acc_best": "maximize", "params": "minimize"}
    assert results["trials"] == {"COMPLETE": 6}
    signs = (1, -1)  # accuracy up, size down
    jobs = {}
    for number in range(6):  # each job returned what its metrics.json holds
        metrics = json.loads((front_sweep / str(number) / "metrics.json").read_text())
        config = OmegaConf.load(front_sweep / str(number) / ".hydra" / "config.yaml")
        jobs[number] = [metrics["val/acc_best"], metrics["params"]]
        # params: the trainable parameter count of the network the trial asked for
        net = MnistCNN(channels=list(config.model.net.channels))
        assert metrics["params"] == sum(p.numel() for p in net.parameters())
    solutions = results["solutions"]
    assert solutions and all(jobs[s["trial"]] == s["values"] for s in solutions)
    on_front = [s["values"] for s in solutions]
    # No solution dominates another (Hydra's plugin's test), and every other trial is dominated.
    assert not any(_dominates(a, b, signs) for a in on_front for b in on_front)
    for number, values in jobs.items():
        if number not in {s["trial"] for s in solutions}:
            assert any(_dominates(front, values, signs) for front in on_front), number
    assert (front_sweep / "pareto_front.png").read_bytes()[:4] == b"\x89PNG"


def test_the_summary_shows_the_searched_shape_and_its_size(front_sweep):
    text = (front_sweep / "summary.md").read_text()
    assert text.startswith("Every job: `hparams_search=accuracy_vs_size ")
    assert "| job | overrides | val/acc_best | params | test/acc |" in text
    assert "| 0 | model.net.channels=[9,38,4] |" in text  # trial 0's draw, seeded
