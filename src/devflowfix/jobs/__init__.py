"""Background jobs: the API, the engine both deployments share, and its runners."""
