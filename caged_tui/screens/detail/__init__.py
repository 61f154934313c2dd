"""The sandbox detail screen (:mod:`.screen`) and its panels, one module each."""
