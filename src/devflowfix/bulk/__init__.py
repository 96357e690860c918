"""Bulk edits: the bulk_update and bulk_delete jobs on a team's incidents."""
