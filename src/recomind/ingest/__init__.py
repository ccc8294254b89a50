"""What an accepted action changes: stored rows, popularity scores and user profiles."""
