"""Benchmark: does a table's fillfactor keep rows that are rewritten one at a time in id order on disk?

The search walks the newest search documents down the id's btree, and its cost is the heap pages it visits in that
order (bench/RESULTS.md, session 21). Every event people write rewrites its request's document. This measures the
PostgreSQL mechanism alone, on a scratch table shaped like the documents (rows of ~580 bytes that grow as comments
arrive, up to ~900): a live-like writer files one row at a time and rewrites `--updates` random rows among the newest
`--recent` after each filing, every statement its own transaction (as a desk's requests and comments are), for each
fillfactor given. It reports, for a walk of the newest half of the rows in id order, how many times the walk moves
to another page, against how many pages those rows lie on: equal means one page after the other.

    .venv/bin/python bench/layout_bench.py                      # fillfactors 100 and 70, 40,000 rows (~4 min each)
    .venv/bin/python bench/layout_bench.py --rows 20000 --fillfactor 100 85 70

It drops and recreates its own database (`portico_bench_layout`). Not a test: the test suite checks that a comment
keeps its document on its page (`requests_app/tests/test_search.py`,
`test_what_people_write_keeps_a_search_document_on_its_page_so_the_newest_stay_in_id_order`).
"""

from __future__ import annotations

import argparse
import sys
import time
from contextlib import closing
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import connect, database_drop, database_ensure

DATABASE = "portico_bench_layout"
WRITER = """
CREATE OR REPLACE PROCEDURE layout_write(rows int, updates int, recent int) LANGUAGE plpgsql AS $$
DECLARE i int; j int;
BEGIN
  SET LOCAL synchronous_commit = off;
  FOR i IN 1..rows LOOP
    INSERT INTO layout_rows VALUES (i, repeat(md5(i::text), 18), i % 3);
    COMMIT;
    FOR j IN 1..updates LOOP
      UPDATE layout_rows SET body = left(body || md5(random()::text), 900)
       WHERE id = greatest(1, i - floor(random() * recent)::int);
      COMMIT;
    END LOOP;
  END LOOP;
END $$;
"""
WALK = """
SELECT count(*) FILTER (WHERE page IS DISTINCT FROM previous), count(DISTINCT page)
  FROM (SELECT (ctid::text::point)[0] AS page, lag((ctid::text::point)[0]) OVER (ORDER BY id) AS previous
          FROM layout_rows WHERE id > %s) AS walk
"""


def measure(fillfactor: int, rows: int, updates: int, recent: int) -> tuple[int, int, float, float]:
    """Page moves walking the newest half of the rows in id order, the pages they lie on, the table's MB, and the
    writer's seconds."""
    with closing(connect(DATABASE)) as conn, conn.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS layout_rows")
        cur.execute(
            f"CREATE TABLE layout_rows (id bigint PRIMARY KEY, body text NOT NULL, vendor int) "
            f"WITH (fillfactor = {int(fillfactor)})"
        )
        cur.execute("CREATE INDEX ON layout_rows (vendor, id)")  # a second index: no update is HOT-only
        cur.execute(WRITER)
        started = time.perf_counter()
        cur.execute("CALL layout_write(%s, %s, %s)", [rows, updates, recent])
        seconds = time.perf_counter() - started
        cur.execute(WALK, [rows // 2])
        switches, pages = cur.fetchone()
        cur.execute("SELECT pg_relation_size('layout_rows')")
        (size,) = cur.fetchone()
    return switches, pages, size / 2**20, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=40_000)
    parser.add_argument("--updates", type=int, default=3, help="rewrites after each filing")
    parser.add_argument("--recent", type=int, default=2_000, help="rewrites land among this many newest rows")
    parser.add_argument("--fillfactor", type=int, nargs="+", default=[100, 70])
    args = parser.parse_args()
    database_drop(DATABASE)
    database_ensure(DATABASE)
    try:
        print(f"{args.rows:,} rows, {args.updates} rewrites after each among the newest {args.recent:,}")
        print("fillfactor | page moves walking the newest half | pages they lie on | table MB | seconds")
        for fillfactor in args.fillfactor:
            moves, pages, mb, seconds = measure(fillfactor, args.rows, args.updates, args.recent)
            print(f"{fillfactor:>10} | {moves:>34,} | {pages:>17,} | {mb:8.1f} | {seconds:.0f}")
    finally:
        database_drop(DATABASE)


if __name__ == "__main__":
    main()
