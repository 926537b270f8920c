-- LIMIT and OFFSET as bind parameters.
-- args: 5
SELECT id FROM users ORDER BY id LIMIT $1;
-- args: 5 10
SELECT id FROM users ORDER BY id LIMIT $1 OFFSET $2;
-- args: 3
SELECT id FROM users ORDER BY id DESC OFFSET $1 LIMIT 2;
-- args: 0
SELECT id FROM users ORDER BY id LIMIT $1;
-- args: 100 4
SELECT id, name FROM users WHERE id > $1 ORDER BY id LIMIT $2;
-- args: 1 2 3
SELECT id FROM users WHERE level = $1 ORDER BY id LIMIT $2 OFFSET $3;
-- args: 4
SELECT level, count(*) FROM users GROUP BY level ORDER BY level LIMIT $1;
-- args: 2 3
SELECT level, count(*) FROM users GROUP BY level ORDER BY level LIMIT $1 OFFSET $2;
-- args: 4
SELECT DISTINCT level FROM users ORDER BY level LIMIT $1;
-- args: 'paid' 5
SELECT id, user_id FROM orders WHERE status = $1 ORDER BY id LIMIT $2;
-- args: 3
SELECT id FROM users ORDER BY id FETCH FIRST $1 ROWS ONLY;
-- args: 4010
SELECT id FROM users ORDER BY id OFFSET $1;
-- args: 2 1
SELECT id, amount FROM orders ORDER BY amount DESC, id LIMIT $1 OFFSET $2;
-- args: 3
SELECT count(*) FROM users LIMIT $1;
-- The same statement again, with other values: a cached prepared statement
-- must be rewritten for each execution.
-- args: 7
SELECT id FROM users ORDER BY id LIMIT $1;
-- args: 2 4020
SELECT id FROM users ORDER BY id LIMIT $1 OFFSET $2;
-- args: 1 0
SELECT id FROM users ORDER BY id LIMIT $1 OFFSET $2;
-- args: 6
SELECT level, count(*) FROM users GROUP BY level ORDER BY level LIMIT $1;
-- args: 8
SELECT DISTINCT level FROM users ORDER BY level LIMIT $1;
-- args: 'new' 3
SELECT id, user_id FROM orders WHERE status = $1 ORDER BY id LIMIT $2;
-- args: 3990 10
SELECT id, name FROM users WHERE id > $1 ORDER BY id LIMIT $2;
-- args: 4 1
SELECT DISTINCT level FROM users ORDER BY level DESC LIMIT $1 OFFSET $2;
-- args: '3'
SELECT id FROM users ORDER BY id LIMIT $1;
