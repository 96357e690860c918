"""The dashboard: static pages that use the public API with the user's token."""
