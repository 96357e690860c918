"""Fix pull requests: a branch with the fix pushed to the repository, and its PR."""
