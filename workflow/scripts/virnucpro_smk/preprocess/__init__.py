"""Stage 1: chunking, six-frame selection, shards, and the training-data builder."""
