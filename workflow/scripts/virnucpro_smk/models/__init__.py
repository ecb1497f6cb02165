"""Stage 2: the model registry and store, the encoders, embedding extraction and checks."""
