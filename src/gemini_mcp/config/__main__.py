"""`python -m gemini_mcp.config --markdown`: print the README's configuration table from the settings table;
`--update README.md` rewrites that table in place. tests/test_settings_table.py fails when the README's copy
differs, so the fix is always `python -m gemini_mcp.config --update README.md`."""

import argparse
import sys
from pathlib import Path

from gemini_mcp.config.settings import help_text, markdown_table, replace_markdown_table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m gemini_mcp.config", description="Render the settings table (config/settings.py)."
    )
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--markdown", action="store_true", help="print the configuration table (markdown)")
    group.add_argument("--text", action="store_true", help="print it as `gemini-mcp --help` shows it")
    group.add_argument("--update", type=Path, metavar="README", help="rewrite the table in this markdown file")
    args = parser.parse_args(argv)
    if args.update:
        document = args.update.read_text(encoding="utf-8")
        args.update.write_text(replace_markdown_table(document), encoding="utf-8")
    else:
        sys.stdout.write(markdown_table() if args.markdown else help_text() + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
