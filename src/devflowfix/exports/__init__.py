"""Exports: incidents and analytics as CSV files and PDF reports."""
