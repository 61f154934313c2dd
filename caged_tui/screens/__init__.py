"""The app's screens, one module (and one ``.tcss``) each."""
