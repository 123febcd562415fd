"""The quality mark: criteria, applications and their assessment, marks and certificates."""
