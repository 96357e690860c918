"""Webhooks from CI providers: verified, parsed into failures, stored as incidents."""
