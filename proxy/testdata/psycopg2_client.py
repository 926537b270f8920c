# Drives psycopg2 (libpq) against shardgate: its parameters are
# interpolated client-side (the simple protocol), transactions are implicit
# (autocommit off), errors carry pgcode. Usage: python3 THIS URL FIRST_ID
import json
import sys

import psycopg2

url, first = sys.argv[1], int(sys.argv[2])
out = {}
conn = psycopg2.connect(url)
cur = conn.cursor()
for i in range(10):
    cur.execute("INSERT INTO users (id, name) VALUES (%s, %s)", (first + i, "py%d" % i))
    conn.commit()
cur.execute("SELECT name FROM users WHERE id = %s", (first + 2,))
out["name"] = cur.fetchone()[0]
conn.commit()
cur.execute("UPDATE users SET name = 'rolled back' WHERE id = %s", (first,))
conn.rollback()
cur.execute("SELECT name FROM users WHERE id = %s", (first,))
out["afterRollback"] = cur.fetchone()[0]
conn.commit()
try:
    cur.execute("UPDATE users SET id = id + 1 WHERE id = 1")
except psycopg2.Error as e:
    out["multiShardCode"] = e.pgcode
    conn.rollback()
# A read on every shard, first in psycopg2's implicit transaction.
cur.execute("SELECT count(*), max(name) FROM users WHERE id BETWEEN %s AND %s", (first, first + 9))
out["scatter"] = "%d %s" % cur.fetchone()
conn.commit()
try:
    cur.execute("SELEC 1")
except psycopg2.Error as e:
    out["syntaxCode"] = e.pgcode
    conn.rollback()
cur.execute("SELECT count(*) FROM products")
out["products"] = cur.fetchone()[0]
conn.close()
print(json.dumps(out))
