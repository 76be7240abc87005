"""The training sampler: a fresh order every epoch that a checkpoint can resume mid-epoch."""

from mnist_cnn.data.datamodule import ResumableShuffle


def test_order_depends_on_seed_and_epoch_only():
    first, again = ResumableShuffle(100, 10, seed=3), ResumableShuffle(100, 10, seed=3)
    assert list(first) == list(again) and sorted(first) == list(range(100))
    epoch0 = list(first)
    first.set_epoch(1)
    assert list(first) != epoch0
    assert list(ResumableShuffle(100, 10, seed=4)) != epoch0


def test_resumed_mid_epoch_it_yields_exactly_what_was_left():
    sampler = ResumableShuffle(100, 10, seed=3)
    sampler.set_epoch(2)
    whole = list(sampler)
    state = sampler.state_dict(batches_done=4, batches_per_epoch=10)
    resumed = ResumableShuffle(100, 10, seed=999)  # the resumed run's own seed does not matter
    resumed.load_state_dict(state)
    assert list(resumed) == whole[40:]
    assert list(resumed) == whole  # the next pass (same epoch number) is whole again
    assert len(resumed) == 100  # Lightning counts the batches already done itself


def test_saved_at_the_end_of_an_epoch_it_resumes_with_the_next():
    sampler = ResumableShuffle(100, 10, seed=3)
    state = sampler.state_dict(batches_done=10, batches_per_epoch=10)
    sampler.set_epoch(1)
    resumed = ResumableShuffle(100, 10, seed=3)
    resumed.load_state_dict(state)
    assert list(resumed) == list(sampler)
