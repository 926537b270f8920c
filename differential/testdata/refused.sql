-- Constructs the proxy refuses over several shards (0A000).
-- expect: refused
SELECT id FROM users UNION SELECT user_id FROM orders;
-- expect: refused
SELECT id FROM users WHERE id < 5 UNION ALL SELECT id FROM users WHERE id > 3998;
-- expect: refused
WITH t AS (SELECT id FROM users) SELECT count(*) FROM t;
-- expect: refused
SELECT id, row_number() OVER (ORDER BY id) FROM users LIMIT 3;
-- expect: refused
SELECT id FROM users ORDER BY id LIMIT 3 FOR UPDATE;
-- expect: refused
SELECT id, random() FROM users LIMIT 1;
-- expect: refused
SELECT count(*) FROM (SELECT id FROM users) s;
-- expect: refused
SELECT id FROM users ORDER BY id FETCH FIRST 3 ROWS WITH TIES;
-- expect: refused
SELECT id FROM users ORDER BY id USING < LIMIT 3;
-- expect: refused
SELECT id FROM users ORDER BY id LIMIT 2 + 1;
-- expect: refused
SELECT id INTO TEMP t FROM users;
-- expect: refused
SELECT level, count(*) FROM users GROUP BY GROUPING SETS ((level), ());
-- expect: refused
SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY balance) FROM users;
-- expect: refused
SELECT max(id) + min(id) FROM users;
-- expect: refused
SELECT id FROM users WHERE EXISTS (SELECT 1 FROM orders o WHERE o.user_id = users.id) LIMIT 3;
-- expect: refused
SELECT array_agg(id ORDER BY id) FROM users;
-- expect: refused
SELECT id FROM users ORDER BY id LIMIT (SELECT 3);
-- Sub-queries over sharded tables need a global view.
-- expect: refused
SELECT p.id FROM products p WHERE NOT EXISTS (SELECT 1 FROM orders o WHERE o.product_id = p.id) ORDER BY p.id;
-- expect: refused
SELECT p.id, (SELECT count(*) FROM orders o WHERE o.product_id = p.id) FROM products p ORDER BY p.id;
-- expect: refused
SELECT u.id FROM users u WHERE u.balance > (SELECT avg(balance) FROM users) ORDER BY u.id LIMIT 20;
-- expect: refused
SELECT * FROM orders WHERE id IN (SELECT max(id) FROM orders);
-- expect: refused
WITH t AS (SELECT product_id, count(*) AS n FROM orders GROUP BY product_id) SELECT max(n) FROM t;
-- expect: refused
SELECT id FROM users UNION SELECT user_id FROM orders ORDER BY 1 LIMIT 10;
