"""The files screen: tree, preview and editor of a sandbox's workspace."""
