"""Stage 4: metrics, the model comparison and plots."""
