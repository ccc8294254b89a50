"""The folds of accepted actions: stored rows, decayed popularity and tag profiles, and their
rebuild from scratch."""
