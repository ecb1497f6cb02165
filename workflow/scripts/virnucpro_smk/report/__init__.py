"""Stage 4: the model comparison, its levels and verdicts, and plots."""
