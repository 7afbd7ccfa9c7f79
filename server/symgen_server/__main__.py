"""`symgen-server`: stdio by default, `--tcp HOST:PORT` for debugging."""

from __future__ import annotations

import argparse
import logging
import sys


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="symgen-server", description=__doc__)
    ap.add_argument("--tcp", metavar="HOST:PORT", help="listen on TCP instead of stdio")
    ap.add_argument("--model", default="", help="exported model dir (editor settings override)")
    ap.add_argument(
        "--db",
        default="",
        help="SQLite or DuckDB file, or postgresql:// URL (editor settings override)",
    )
    ap.add_argument("--log-level", default="WARNING")
    args = ap.parse_args(argv)
    # stdout carries the protocol only: every log goes to stderr.
    logging.basicConfig(
        stream=sys.stderr,
        level=args.log_level.upper(),
        format="symgen-server %(levelname)s %(name)s: %(message)s",
    )
    from dataclasses import replace

    from symgen_server.lsp_server import server

    # command-line values are the defaults the client's settings are merged over
    server.completer.settings = replace(
        server.completer.settings, model=args.model, database=args.db
    )
    if args.tcp:
        host, _, port = args.tcp.rpartition(":")
        server.start_tcp(host or "127.0.0.1", int(port))
    else:
        server.start_io()
    return 0


if __name__ == "__main__":
    sys.exit(main())
