"""Sign-in: users, password hashes, bearer tokens and role checks."""
