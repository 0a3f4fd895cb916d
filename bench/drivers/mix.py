"""Request/response traffic the way Python applications send it, for bench/coverage-mix.mjs --python.

psycopg2 (libpq, simple protocol, parameters interpolated by the client; BEGIN sent on its own
before a transaction's first statement; named cursors as DECLARE / FETCH / CLOSE) and psycopg 3
(extended protocol: parameters bound by the server, statements prepared by name after 5
executions of the same query, server-side cursors over the extended protocol, COPY, errors in and
out of transactions). Nothing here pipelines: every statement is its own round trip.

    python3 bench/drivers/mix.py "host=... port=... user=postgres dbname=postgres" LOOPS
"""
import sys

import psycopg
import psycopg2

DSN = sys.argv[1]
LOOPS = int(sys.argv[2]) if len(sys.argv) > 2 else 10


def setup():
    with psycopg2.connect(DSN) as conn, conn.cursor() as cur:
        cur.execute("CREATE TABLE IF NOT EXISTS drv (id int PRIMARY KEY, v text, n int DEFAULT 0)")
        cur.execute("INSERT INTO drv SELECT g, md5(g::text) FROM generate_series(1, 500) g ON CONFLICT DO NOTHING")
    conn.close()


def psycopg2_traffic():
    conn = psycopg2.connect(DSN)
    cur = conn.cursor()
    for i in range(LOOPS):
        cur.execute("SELECT v FROM drv WHERE id = %s", (i + 1,))
        cur.fetchall()
        cur.execute("UPDATE drv SET n = n + 1 WHERE id = %s", (i + 2,))
        cur.executemany("INSERT INTO drv (id, v) VALUES (%s, %s) ON CONFLICT (id) DO UPDATE SET v = excluded.v",
                        [(1000 + i * 3 + k, f"p2-{k}") for k in range(3)])
        conn.commit()
        try:
            cur.execute("SELECT 1 / (n - n) FROM drv WHERE id = %s", (1,))
        except psycopg2.DataError:
            conn.rollback()
        named = conn.cursor(name=f"drv_c{i}")
        named.itersize = 100
        named.execute("SELECT id, v FROM drv WHERE id <= %s ORDER BY id", (250,))
        rows = sum(1 for _ in named)
        assert rows == 250, rows
        named.close()
        conn.commit()
    conn.autocommit = True
    for i in range(LOOPS):
        cur.execute("SELECT count(*) FROM drv WHERE v LIKE %s", ("a%",))
        cur.execute("SELECT pg_catalog.now() - %s::interval", ("1 day",))
        cur.fetchall()
    conn.close()


def psycopg3_traffic():
    with psycopg.connect(DSN) as conn:
        for i in range(LOOPS):
            # Parameters bound by the server; from the 6th execution the query is prepared by name.
            conn.execute("SELECT v FROM drv WHERE id = %s", (i + 1,)).fetchall()
            conn.execute("UPDATE drv SET n = n + %s WHERE id = %s", (1, i + 3))
            conn.commit()
            try:
                conn.execute("SELECT 2 / (n - n) FROM drv WHERE id = %s", (2,))
            except psycopg.errors.DivisionByZero:
                conn.rollback()
            with conn.cursor(name=f"drv3_c{i}") as named:
                named.itersize = 100
                named.execute("SELECT id, n FROM drv WHERE id <= %s ORDER BY id", (300,))
                assert len(named.fetchall()) == 300
            conn.commit()
        with conn.cursor() as cur:
            with cur.copy("COPY (SELECT id, v FROM drv WHERE id <= 50) TO STDOUT") as copy:
                assert sum(1 for _ in copy.rows()) == 50
        conn.commit()
    with psycopg.connect(DSN, autocommit=True) as conn:
        for i in range(LOOPS):
            conn.execute("SELECT max(id) FROM drv WHERE n >= %s", (0,)).fetchone()
            try:
                conn.execute("INSERT INTO drv (id, v) VALUES (%s, %s)", (1, "dup"))
            except psycopg.errors.UniqueViolation:
                pass
            with conn.transaction():
                conn.execute("UPDATE drv SET n = 0 WHERE id = %s", (i + 4,))
                conn.execute("SELECT n FROM drv WHERE id = %s", (i + 4,)).fetchone()


setup()
psycopg2_traffic()
psycopg3_traffic()
print(f"python drivers: psycopg2 {psycopg2.__version__.split()[0]}, psycopg {psycopg.__version__}, {LOOPS} loops")
