"""Reusable widgets: header, dialogs, command line, tables."""
