"""A sandbox's workspace as content: confined files, git in the cage, snapshots."""
