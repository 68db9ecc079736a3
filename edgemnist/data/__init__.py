"""MNIST: IDX reading, verified download, augmentation, previews. Device-safe (no torch)."""
