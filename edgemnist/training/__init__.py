"""Host-side training: recipes, losses, the training loop, checkpoints, evaluation."""
