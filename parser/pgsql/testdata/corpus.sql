-- The corpus: statements separated by lines of four dashes. Each one is
-- analysed through the lexer and the cache (twice, and again with other
-- literal values of the same shape) and must describe the same as the
-- pg_query-only reference. A line "--! uncacheable" says the statement is
-- expected to bypass the cache (removed from the text before the test).
----
SELECT * FROM users WHERE id = 42
----
SELECT id, name FROM users WHERE id = $1
----
select * from USERS where ID = -42
----
SELECT * FROM users WHERE id = - 42 AND name = 'bob'
----
SELECT * FROM users WHERE id = - -7
----
SELECT * FROM users WHERE id = -(5) AND age = -/* comment */ 3
----
SELECT * FROM users WHERE id IN (1, 2, -3, $1)
----
SELECT * FROM users WHERE id = '42'::bigint
----
SELECT * FROM users WHERE id = bigint '42'
----
SELECT * FROM users WHERE id = CAST('42' AS bigint) AND name = $2::text
----
SELECT * FROM users WHERE id = $1::int8
----
SELECT * FROM users WHERE id = '42'::varchar(3)
----
SELECT * FROM public.users u WHERE u.id = 7 AND u.name <> 'x'
----
SELECT u.name, o.total FROM users u JOIN orders o ON o.user_id = u.id WHERE u.id = 10 AND o.status = 'paid' ORDER BY o.created_at DESC LIMIT 20 OFFSET 40
----
SELECT * FROM users, orders WHERE id = 5
----
SELECT * FROM users WHERE id = 1 OR id = 2
----
SELECT * FROM users WHERE NOT (id = 1)
----
SELECT * FROM users WHERE (id = 1 AND (name = 'a' AND age = 3))
----
SELECT * FROM users WHERE id = (SELECT max(id) FROM users WHERE id = 3)
----
SELECT * FROM users WHERE id IN (SELECT user_id FROM orders WHERE total > 100.50)
----
SELECT count(*), status FROM orders GROUP BY 2 HAVING count(*) > 5 ORDER BY 1 DESC
----
SELECT DISTINCT ON (1) a, b FROM t ORDER BY 1, 2
----
SELECT a, sum(b) OVER (PARTITION BY a ORDER BY 1) FROM t WHERE c = 3
----
SELECT name FROM users UNION ALL SELECT name FROM admins WHERE id = 3 ORDER BY 1 LIMIT 5
----
WITH recent AS (SELECT * FROM orders WHERE created_at > now() - interval '1 day') SELECT * FROM recent WHERE user_id = 9
----
WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t WHERE n < 10) SELECT sum(n) FROM t
----
WITH moved AS (DELETE FROM orders WHERE id = 4 RETURNING *) INSERT INTO archive SELECT * FROM moved
----
WITH users AS (SELECT * FROM users WHERE id = 1) SELECT * FROM users WHERE id = 2
----
SELECT * FROM users WHERE id = 1 FOR UPDATE
----
SELECT * FROM users u WHERE u.id = 1 FOR NO KEY UPDATE OF u SKIP LOCKED
----
SELECT nextval('users_id_seq')
----
SELECT random(), gen_random_uuid()
----
SELECT now(), lower(name) FROM users WHERE id = 3
----
SELECT myschema.f(id) FROM users WHERE id = 3
----
INSERT INTO users (id, name) VALUES (1, 'a')
----
INSERT INTO users (id, name, email, age, active) VALUES (1, 'a', 'a@example.com', 30, true)
----
INSERT INTO users VALUES (1, 'a')
----
INSERT INTO users (id, name) VALUES (1, 'a'), (2, 'b'), (3, DEFAULT), ($1, $2), (4, NULL)
----
INSERT INTO users (id, name) VALUES (-1, E'it\'s'), (2, 'x') RETURNING id
----
INSERT INTO users AS u (id, name) VALUES (1, 'a') ON CONFLICT (id) DO UPDATE SET name = excluded.name, seen = 1
----
INSERT INTO users (id, name) VALUES (1, 'a') ON CONFLICT DO NOTHING
----
INSERT INTO users DEFAULT VALUES
----
INSERT INTO archive (id) SELECT id FROM users WHERE id = 5
----
INSERT INTO users (id, created) VALUES (nextval('s'), now())
----
INSERT INTO t (a) VALUES (1), (2) LIMIT 1
----
INSERT INTO t (a, b) VALUES (ARRAY[1, 2], '{3,4}'), ($1::bigint, $2::text[])
----
INSERT INTO events (id, user_id, kind, payload, at, score, flag, note, tag, n) VALUES
  (1, 10, 'a', '{}', '2024-01-01', 1.5, true, NULL, 'x', -1),
  (2, 11, 'b', '{}', '2024-01-02', 2.5, false, NULL, 'y', -2),
  (3, 12, 'c', '{}', '2024-01-03', 3.5, true, NULL, 'z', -3),
  (4, 13, 'd', '{}', '2024-01-04', 4.5, false, 'n', 'x', -4),
  (5, 14, 'e', '{}', '2024-01-05', 5.5, true, NULL, 'y', -5),
  (6, 15, 'f', '{}', '2024-01-06', 6.5, false, NULL, 'z', -6),
  (7, 16, 'g', '{}', '2024-01-07', 7.5, true, NULL, 'x', -7),
  (8, 17, 'h', '{}', '2024-01-08', 8.5, false, NULL, 'y', -8),
  (9, 18, 'i', '{}', '2024-01-09', 9.5, true, NULL, 'z', -9),
  (10, 19, 'j', '{}', '2024-01-10', 10.5, false, NULL, 'x', -10)
----
UPDATE users SET name = 'x', age = age + 1 WHERE id = 5
----
UPDATE users u SET name = o.name FROM orders o WHERE o.user_id = u.id AND u.id = 3
----
UPDATE users SET (a, b) = (1, 2) WHERE id = $1 RETURNING *
----
DELETE FROM users WHERE id = 3
----
DELETE FROM users u USING orders o WHERE o.user_id = u.id AND o.id IN (1, 2)
----
DELETE FROM users WHERE CURRENT OF c
----
MERGE INTO users u USING staging s ON s.id = u.id WHEN MATCHED THEN UPDATE SET name = s.name WHEN NOT MATCHED THEN INSERT (id, name) VALUES (s.id, s.name)
----
BEGIN
----
BEGIN ISOLATION LEVEL SERIALIZABLE, READ ONLY, DEFERRABLE
----
START TRANSACTION READ WRITE, NOT DEFERRABLE, ISOLATION LEVEL REPEATABLE READ
----
COMMIT
----
COMMIT AND CHAIN
----
END
----
ROLLBACK
----
ABORT AND NO CHAIN
----
SAVEPOINT s1
----
RELEASE SAVEPOINT s1
----
ROLLBACK TO SAVEPOINT s1
----
PREPARE TRANSACTION 'gid-1'
--! uncacheable
----
SET search_path TO app, public
----
SET LOCAL statement_timeout = 5000
----
SET TIME ZONE 'UTC'
----
SET SESSION application_name = 'x'
----
SET extra_float_digits = -3
----
RESET ALL
----
RESET search_path
----
SET TRANSACTION ISOLATION LEVEL READ COMMITTED
----
SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY
----
SET datestyle TO DEFAULT
----
SET CONSTRAINTS ALL DEFERRED
----
SHOW search_path
----
CREATE TABLE t (id bigint PRIMARY KEY, name text DEFAULT 'x', v varchar(10))
----
ALTER TABLE users ADD COLUMN x int DEFAULT 0
----
DROP TABLE IF EXISTS a, s.b
----
TRUNCATE orders
----
CREATE INDEX CONCURRENTLY i ON users (lower(name))
----
COMMENT ON TABLE users IS 'the users'
--! uncacheable
----
GRANT SELECT ON users TO bob
----
CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $body$ SELECT 1 $body$
--! uncacheable
----
COPY users FROM STDIN
----
COPY (SELECT * FROM users WHERE id = 1) TO STDOUT
----
PREPARE p (int) AS SELECT * FROM users WHERE id = $1
----
EXECUTE p(42)
----
DEALLOCATE p
----
DISCARD ALL
----
LISTEN ch
----
NOTIFY ch, 'payload'
--! uncacheable
----
UNLISTEN *
----
LOCK TABLE users IN ACCESS EXCLUSIVE MODE
----
VACUUM ANALYZE users
----
EXPLAIN SELECT * FROM users WHERE id = 1
----
EXPLAIN ANALYZE DELETE FROM users WHERE id = 1
----
CHECKPOINT
----
DO $$ BEGIN PERFORM 1; END $$
--! uncacheable
----
CALL p(1)
----
-- only a comment
----
/* a nested /* comment */ here */
----
;
----
BEGIN; UPDATE users SET n = 1 WHERE id = 7; COMMIT
----
SELECT 1; SELECT 'a;b'; SELECT $$;$$
----
/* shardgate: shard=c0- */ BEGIN; INSERT INTO users (id) VALUES (5); COMMIT;
----
SELECT $$dollar 'quoted' $x$ text$$, $tag$ with $$ inside $tag$ FROM users WHERE id = $q$42$q$
----
SELECT E'line\nnext\ttab\\back\'quote\x41\101\u00e9\U0001F600\q' FROM users WHERE name = e'\''
----
SELECT U&'d\0061t\+000061', u&'\\' FROM t WHERE n = U&'caf\00e9'
----
SELECT /* outer /* inner 'not a string' */ still comment */ 1 -- it's a comment with 'quotes'
----
SELECT "weird ""name"" 42", "Id" FROM "My Table" WHERE "Id" = 5
----
SELECT 'first'
'second'
   'third' AS s FROM t WHERE x = 'a'
----
/* shardgate: shard=80- max_lag=500ms read=replicas */ SELECT * FROM users WHERE id = 3
----
SELECT * FROM users /* shardgate: shard=-80 */ WHERE id = 3
----
SELECT 'ünïcödé', 'x' FROM users WHERE name = 'Ærøskøbing' AND id = 3
----
SELECT * FROM "tëst" WHERE "ñ" = 'ü' AND id = 12
----
SELECT B'1010', X'FF', b'1', x'0a' FROM t
----
SELECT 0x1F, 0o17, 0b101, 0x_FF, 1_000_000, 1_000.5, 1e10, .5, 5., 1.5e-3, 99999999999, 2147483647, 2147483648, 007 FROM t
----
SELECT * FROM t WHERE a = -2147483648 AND b = -9223372036854775808
----
SELECT 1::text, '2'::int, 3.5::numeric
----
SELECT * FROM users ORDER BY 1, 2 DESC NULLS LAST LIMIT 10 OFFSET 5
----
SELECT * FROM users LIMIT ALL
----
SELECT * FROM users FETCH FIRST 3 ROWS ONLY
----
SELECT * FROM users ORDER BY id OFFSET 10 ROWS FETCH NEXT 5 ROWS WITH TIES
----
SELECT extract(year from ts), interval '1' day FROM t WHERE id = 4
----
SELECT '1'::float(53)
--! uncacheable
----
SELECT * FROM t WHERE x = U&'!0061' UESCAPE '!'
--! uncacheable
----
SELECT N'national' FROM t
----
VALUES (1, 'a'), (2, 'b')
----
TABLE users
----
SELECT * FROM users WHERE id = 5 AND $2 = name
----
SELECT * FROM users WHERE (id) = 5
----
SELECT * FROM users WHERE id = ANY($1)
----
SELECT * FROM users WHERE id IS NULL AND name = NULL
----
SELECT * FROM s.users WHERE s.users.id = 5
----
SELECT * FROM (SELECT * FROM users WHERE id = 1) sub WHERE sub.id = 1
----
SELECT * FROM users WHERE id = 5 AND name LIKE 'a%' ESCAPE '\'
----
SELECT 1 ORDER BY 1 -- a trailing comment without a newline
----
SELECT x FROM t GROUP BY ROLLUP (1, 2)
----
SELECT string_agg(x, ',' ORDER BY 1) FROM t WHERE id = 2
----
SELECT * FROM generate_series(1, 10) g WHERE g = 3
----
SELECT a->>'k', b #>> '{a,b}' FROM t WHERE c @> '{"a":1}'::jsonb
----
SELECT $1, $2::text, $10
----
SELECT * FROM t WHERE a = 1.5 AND b = -1.5 AND c = - - 2.5 AND d = -1e3
----
SELECT * FROM users WHERE id = 1;
----
SELECT * FROM users WHERE id = 1 AND name = 'a''b' AND x = ''
----
SELECT * FROM t1 LEFT JOIN (t2 JOIN t3 USING (id)) j ON j.id = t1.id WHERE t1.id = 8
----
SELECT * FROM users WHERE id = 5 AND created_at > now() - '1 day'::interval LIMIT $1 OFFSET $2
