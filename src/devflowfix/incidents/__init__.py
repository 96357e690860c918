"""Incidents: create, read, list, update and delete one CI/CD failure at a time."""
