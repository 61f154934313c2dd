"""What the platform does: sandboxes, snapshots, keys, MCP sessions."""
