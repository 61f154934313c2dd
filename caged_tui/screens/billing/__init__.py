"""The usage and billing screen (``:billing``)."""
