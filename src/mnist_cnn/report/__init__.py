"""What a finished run shows: figures of its test results and learning curves."""
