"""What every job needs: configuration checks, environment, GPU slots, logs, progress."""
