"""`python -m shared.app.export`: the assessments from the state store, as GET /api/assessments gives
them, for a shell with the app's settings (AZMIGRATE_* variables) in its environment."""

from __future__ import annotations

import argparse
import sys

from shared.app import services
from shared.errors import AutopilotError, ErrorCode, InvalidInput


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m shared.app.export",
        description="Export the assessments from the state store (settings from AZMIGRATE_* variables).",
    )
    parser.add_argument("--wave", help="only this wave (the azmigrate:wave tag)")
    parser.add_argument("--format", choices=("csv", "json"), default="csv")
    parser.add_argument("--output", help="file to write (default: standard output)")
    args = parser.parse_args(argv)
    try:
        text, _ = services.assessments(args.wave, args.format, accept="")
    except AutopilotError as error:
        if isinstance(error, InvalidInput) and error.code is ErrorCode.INVALID_WAVE:
            parser.error(f"--wave {args.wave!r} is not a wave name (letters, digits, . _ -; up to 63)")
        print(f"error: {error}", file=sys.stderr)
        return 2
    text = text if args.format == "csv" else text + "\n"
    if args.output:
        with open(args.output, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
