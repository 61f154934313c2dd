"""The ``caged-tui`` command.

::

    caged-tui [--profile NAME] [--local] [--base-url URL] [--data-dir DIR]
    caged-tui serve [--host H] [--port P] [--data-dir DIR] [--status] [--stop]

Without a hosted profile and key configured (or with ``--local``) the
embedded local platform is started — or found, if it already runs — and the
app connects to it with its key: a fresh machine needs no configuration.

Exit codes: 0 normal exit; 2 a configuration problem (one line on stderr,
never a traceback); ``serve`` returns the local platform's own code.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from caged_tui import __version__, collector

EXIT_CONFIG = 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="caged-tui",
        description="A keyboard-driven dashboard for Caged AI-agent sandboxes. "
        "'caged-tui serve --help' shows the local platform's options.",
    )
    parser.add_argument("--profile", help="hosted profile to use (default: the config file's)")
    parser.add_argument(
        "--local", action="store_true", help="use the embedded local platform (started if needed)"
    )
    parser.add_argument("--base-url", help="platform URL, overriding the profile's")
    parser.add_argument(
        "--data-dir", type=Path, help="local platform data directory (default: the user data dir)"
    )
    parser.add_argument("--version", action="version", version=f"caged-tui {__version__}")
    return parser


def _fail(message: str) -> int:
    print(f"caged-tui: {message}", file=sys.stderr)
    return EXIT_CONFIG


def main(argv: Sequence[str] | None = None) -> int:
    """Run the TUI (or ``serve``); returns the process exit code."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list[:1] == ["serve"]:
        from caged_platform.__main__ import main as serve

        return serve(args_list[1:])
    args = _parser().parse_args(args_list)
    # Before the client and the app are imported: what start-up makes lives on.
    collector.hold_for_start()
    try:
        return _run(args)
    finally:
        # The app let the collector go at its first frame; an error before it did not.
        collector.release_after_start(freeze=False)


def _run(args: argparse.Namespace) -> int:
    from caged_core import config
    from caged_core.errors import CagedError
    from caged_tui.app import make_app
    from caged_tui.connect import connector, open_session

    if args.local and (args.profile not in (None, config.LOCAL_PROFILE) or args.base_url):
        return _fail("--local cannot be combined with a hosted --profile or --base-url")

    try:
        session = open_session(
            args.profile, local=args.local, base_url=args.base_url, data_dir=args.data_dir
        )
    except CagedError as error:
        return _fail(str(error))
    except OSError as error:
        return _fail(f"cannot start the local platform: {error}")

    def remember_theme(theme: str) -> None:
        config.save_preferences(theme=theme)

    app = make_app(
        session.client,
        session.settings,
        connector=connector(args.data_dir),
        remember_theme=remember_theme,
    )
    app.run()
    return app.return_code or 0


if __name__ == "__main__":
    sys.exit(main())
