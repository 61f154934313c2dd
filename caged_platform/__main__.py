"""``python -m caged_platform serve [--host] [--port] [--data-dir] [--status | --stop |
--build-templates [NAME ...]]``.

``caged-tui serve ...`` calls :func:`main` with the same arguments.
"""

from __future__ import annotations

import argparse
import functools
import logging
import sys
from pathlib import Path

from caged_platform import service

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="caged-tui serve",
        description="Run the embedded Caged-compatible platform (loopback only by default).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port to bind (default: a free one)")
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help=f"where sandboxes, keys and the database live (default {service.default_data_dir()})",
    )
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--status", action="store_true", help="say whether a server runs, exit")
    action.add_argument("--stop", action="store_true", help="stop the running server, exit")
    action.add_argument(
        "--build-templates",
        nargs="*",
        metavar="TEMPLATE",
        help="build the template images (all offered ones when none is named), exit",
    )
    return parser


def _say(name: str, line: str) -> None:
    print(f"{name}: {line}", flush=True)


def _build_templates(names: list[str]) -> int:
    """Build images ahead of use (``./dev`` does, so tests and CI never wait on one)."""
    from caged_platform.runtime import templates
    from caged_platform.runtime.api import CageError

    try:
        wanted = [templates.lookup(n) for n in names] or list(templates.OFFERED.values())
        for template in wanted:
            root = templates.ensure_built(template, functools.partial(_say, template.name))
            print(f"{template.name}: ready at {root}")
    except CageError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point; ``argv`` may start with ``serve`` or not. Returns the exit code."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list[:1] == ["serve"]:
        args_list = args_list[1:]
    args = _parser().parse_args(args_list)
    if args.status:
        running, url, pid = service.status(args.data_dir)
        print(f"running at {url} (pid {pid})" if running else "not running")
        return 0 if running else 1
    if args.stop:
        stopped = service.stop(args.data_dir)
        print("stopped" if stopped else "not running")
        return 0
    if args.build_templates is not None:
        return _build_templates(args.build_templates)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    return service.serve(args.host, args.port, args.data_dir)


if __name__ == "__main__":
    sys.exit(main())
