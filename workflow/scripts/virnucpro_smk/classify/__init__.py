"""Stage 3: classifier features, the MLP, training and prediction."""
