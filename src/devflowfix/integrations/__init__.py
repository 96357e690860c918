"""Team integrations with CI providers: secrets, tokens, base URLs, job logs."""
