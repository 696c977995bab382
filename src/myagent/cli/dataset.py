"""`myagent dataset`: import a JSONL/CSV file into a dataset, list datasets, show items."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

import orjson


def _db_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db",
        default=None,
        help="trace database path or URL (default: TRACE_DATABASE_URL, else traces.db)",
    )


async def _import(args: argparse.Namespace) -> int:
    from myagent.eval.datasets import Dataset, DatasetFileError
    from myagent.trace.config import storage_for
    from myagent.trace.manager import TraceManager

    manager = TraceManager(storage_for(args.db))
    try:
        dataset = Dataset(args.name, manager=manager)
        try:
            items = await dataset.import_file(args.file)
        except (DatasetFileError, OSError) as exc:
            print(f"myagent dataset import: {exc}", file=sys.stderr)
            return 2
        total = len(await dataset.items())
        print(f"imported {len(items)} items into {args.name!r} ({total} items in all)")
        return 0
    finally:
        await asyncio.to_thread(manager.close)


async def _list(args: argparse.Namespace) -> int:
    from myagent.trace.config import storage_for

    storage = storage_for(args.db)
    try:
        for row in await storage.datasets():
            print(f"{row['name']}\t{row['items']} items\t{row['versions']} versions")
        return 0
    finally:
        await storage.close()


async def _show(args: argparse.Namespace) -> int:
    from myagent.trace.config import storage_for

    storage = storage_for(args.db)
    try:
        for item in await storage.dataset_items(args.name, history=args.history):
            sys.stdout.write(orjson.dumps(item.to_dict(), default=str).decode() + "\n")
        return 0
    finally:
        await storage.close()


def register(commands: Any) -> None:
    """Add the `dataset` subcommand (import, list, show)."""
    dataset = commands.add_parser("dataset", help="datasets for experiments: import, list, show")
    actions = dataset.add_subparsers(dest="action", metavar="ACTION", required=True)
    imp = actions.add_parser("import", help="add the items of a JSONL or CSV file")
    imp.add_argument("file", help="a .jsonl or .csv file (columns: input, expected_output, ...)")
    imp.add_argument("--name", required=True, help="the dataset (created on first use)")
    _db_argument(imp)
    imp.set_defaults(handler=lambda a: asyncio.run(_import(a)))
    listing = actions.add_parser("list", help="datasets with their item counts")
    _db_argument(listing)
    listing.set_defaults(handler=lambda a: asyncio.run(_list(a)))
    show = actions.add_parser("show", help="a dataset's items as JSON lines")
    show.add_argument("name")
    show.add_argument("--history", action="store_true", help="every version of every item")
    _db_argument(show)
    show.set_defaults(handler=lambda a: asyncio.run(_show(a)))
