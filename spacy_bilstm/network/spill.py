"""Per-document rows on disk, so that a long job's memory does not grow with it.

An `Aggregate` made with ``spill=True`` moves its window and said rows (one
per document and key: see aggregate.py) into a `DocRows` store in batches and
reads them back, summed, when the graph is built. Everything else it holds
is bounded by the number of actors and pairs, not of documents.

The store is a private temporary SQLite database (``sqlite3.connect("")``):
SQLite keeps at most its page cache in memory, sorts on disk, and deletes
the file when the connection closes. Rows are appended as they come (no
index to update on every insert); a key seen in more than one batch (a
repeated document id) is summed when read, in the order the batches were
appended, which is the order in which an in-memory aggregate would have
added them up.
"""

import sqlite3
import weakref
from typing import Iterable, Iterator, Sequence, Tuple

# Key columns, then the value columns that add up.
TABLES = {"windows": (("a", "b", "c"), ("n",)), "said": (("a", "b", "c", "d"), ("m", "st", "sn"))}
# Page cache (in KiB, as SQLite's negative cache_size): the store's memory.
CACHE_KIB = 8192


class DocRows:
    """Per-document rows in a temporary SQLite database, summed when read."""

    def __init__(self) -> None:
        self.db = sqlite3.connect("")
        # The database is thrown away with the process: no journal, no fsync.
        self.db.execute("PRAGMA journal_mode = OFF")
        self.db.execute("PRAGMA synchronous = OFF")
        self.db.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
        for table, (keys, values) in TABLES.items():
            # Columns without a type: SQLite stores each value as given (a
            # float stays a float, -0.0 included) and returns it unchanged.
            self.db.execute(f"CREATE TABLE {table} ({', '.join(keys + values)})")
        # Closed (and the file deleted) with this object, without waiting for
        # the connection's own finalizer.
        weakref.finalize(self, self.db.close)

    def append(self, table: str, items: Iterable[Tuple[tuple, tuple]]) -> None:
        """Append (key, values) pairs to a table ("windows" or "said")."""
        keys, values = TABLES[table]
        marks = ", ".join("?" * (len(keys) + len(values)))
        self.db.executemany(f"INSERT INTO {table} VALUES ({marks})", (key + value for key, value in items))

    def summed(self, table: str, order: Sequence[str]) -> Iterator[Tuple[tuple, tuple]]:
        """Each key of a table once, with its values added up in the order
        they were appended, sorted by the key columns named in `order`.

        table (str): "windows" or "said".
        order (Sequence[str]): All the table's key columns, most significant first.
        YIELDS (Tuple[tuple, tuple]): (key, values), columns as in `TABLES`.
        """
        keys, values = TABLES[table]
        n_keys = len(keys)
        cursor = self.db.execute(
            f"SELECT {', '.join(keys + values)} FROM {table} ORDER BY {', '.join(order)}, rowid"
        )
        key, total = None, ()
        for row in cursor:
            if key is not None and row[:n_keys] == key:
                total = tuple(x + y for x, y in zip(total, row[n_keys:]))
                continue
            if key is not None:
                yield key, total
            key, total = row[:n_keys], row[n_keys:]
        if key is not None:
            yield key, total
