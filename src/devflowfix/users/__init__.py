"""Team user management for admins."""
