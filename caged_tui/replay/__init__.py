"""Session replay without Textual: what the replay screen shows and computes.

- :mod:`.events`: an event's group (the type filters), icon, one-line summary and detail.
- :mod:`.timeline`: the windowed source of a session's events, fetched by pages.
- :mod:`.playback`: speeds, the idle-time cap, how far a tick of the clock goes.
- :mod:`.totals`: cost, tokens and trust at the playhead.
- :mod:`.keyframes`: terminal states kept along a recording for fast backward seeks.
- :mod:`.export`: JSON Lines and asciinema v2 ``.cast``.
"""
