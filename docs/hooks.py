"""MkDocs hooks: the command-line page and the API reference are generated when the site is
built (from the CLI's parser and the package's modules), so neither can drift from the code."""

from __future__ import annotations

import argparse
import pkgutil

from mkdocs.structure.files import File

import lucid_atlas

CLI_MARKER = "<!-- lucid-atlas-cli-reference -->"
API_MARKER = "<!-- lucid-atlas-api-index -->"


def public_modules() -> list[str]:
    """Every module of the package whose dotted name has no part starting with '_'."""
    names = ["lucid_atlas"]
    for info in pkgutil.walk_packages(lucid_atlas.__path__, "lucid_atlas."):
        if not any(part.startswith("_") for part in info.name.split(".")):
            names.append(info.name)
    return sorted(names)


def cli_reference() -> str:
    """Every subcommand's ``--help``, as Markdown sections."""
    from lucid_atlas.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    parts = [f"```text\n{parser.format_help().rstrip()}\n```\n"]
    for name, command in sub.choices.items():
        command.prog = f"lucid-atlas {name}"
        parts.append(f"### `lucid-atlas {name}`\n\n```text\n{command.format_help().rstrip()}\n```\n")
    return "\n".join(parts)


def api_index() -> str:
    """A list of the API reference's module pages, by package."""
    lines = []
    for name in public_modules():
        depth = name.count(".")
        lines.append(f"{'    ' * max(0, depth - 1)}- [`{name}`]({name}.md)")
    return "\n".join(lines) + "\n"


def on_files(files, config):
    """Adds one API reference page per public module."""
    for name in public_modules():
        content = f"# `{name}`\n\n::: {name}\n"
        files.append(File.generated(config, f"api/{name}.md", content=content))
    return files


def on_page_markdown(markdown: str, page, config, files):
    """Fills the generated sections."""
    if CLI_MARKER in markdown:
        markdown = markdown.replace(CLI_MARKER, cli_reference())
    if API_MARKER in markdown:
        markdown = markdown.replace(API_MARKER, api_index())
    return markdown

