"""Incident search: filters shared by search, exports and bulk jobs."""
