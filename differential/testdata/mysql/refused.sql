-- Constructs the endpoint refuses over several shards (1235).
-- expect: refused
SELECT id FROM users WHERE id < 5 UNION SELECT user_id FROM orders WHERE user_id < 5;
-- expect: refused
SELECT id FROM users WHERE id < 5 UNION ALL SELECT id FROM users WHERE id > 3998;
-- expect: refused
WITH t AS (SELECT id FROM users) SELECT count(*) FROM t;
-- expect: refused
SELECT id, ROW_NUMBER() OVER (ORDER BY id) FROM users LIMIT 3;
-- expect: refused
SELECT count(*) FROM (SELECT id FROM users) s;
-- expect: refused
SELECT id FROM users WHERE id IN (SELECT user_id FROM orders WHERE qty = 20) ORDER BY id LIMIT 5;
-- expect: refused
SELECT id, (SELECT count(*) FROM orders o WHERE o.user_id = users.id) FROM users ORDER BY id LIMIT 3;
-- expect: refused
SELECT level, count(*) FROM users GROUP BY level WITH ROLLUP;
-- expect: refused
SELECT GROUP_CONCAT(id) FROM users WHERE id < 5;
-- expect: refused
SELECT std(balance) FROM users;
-- expect: refused
SELECT BIT_OR(level) FROM users;
-- expect: refused
SELECT max(id) - min(id) FROM users;
-- expect: refused
SELECT sum(amount) + 1 FROM orders;
-- expect: refused
SELECT count(DISTINCT level, active) FROM users;
-- expect: refused
SELECT count(DISTINCT level), count(DISTINCT active) FROM users;
-- expect: refused
SELECT id FROM users ORDER BY id LIMIT 3 FOR UPDATE;
-- expect: refused
SELECT SQL_CALC_FOUND_ROWS id FROM users ORDER BY id LIMIT 3;
-- expect: refused
SELECT DISTINCT level, count(*) FROM users GROUP BY level;
-- expect: refused
SELECT DISTINCT * FROM products p JOIN orders o ON o.product_id = p.id LIMIT 2;
-- expect: refused
SELECT DISTINCT level FROM users ORDER BY id;
-- expect: refused
SELECT level, id FROM users GROUP BY level;
-- expect: refused
SELECT *, count(*) FROM users;
-- expect: refused
SELECT id, RAND() FROM users LIMIT 1;
-- expect: refused
SELECT id INTO @x FROM users LIMIT 1;
-- expect: refused
SELECT @a := id FROM users LIMIT 1;
-- expect: refused
SELECT id FROM users ORDER BY id LIMIT 2 + 1;
-- expect: refused
SELECT level, count(*) FROM users GROUP BY level HAVING count(*) > (SELECT 3);
-- expect: refused
SELECT JSON_ARRAYAGG(id) FROM users WHERE id < 5;
-- expect: refused
SELECT id FROM users WHERE EXISTS (SELECT 1 FROM orders o WHERE o.user_id = users.id) LIMIT 3;
