"""The HTTP face of the platform: the Starlette app, routes, sockets, problem mapping."""
