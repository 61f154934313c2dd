"""The notifications screen (``:notifications``, the header's 🔔 count): inbox and settings."""
