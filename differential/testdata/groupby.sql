-- GROUP BY: a hash aggregation of the shards' groups.
SELECT level, count(*) FROM users GROUP BY level;
SELECT level, count(*) FROM users GROUP BY level ORDER BY level;
SELECT level, count(*) FROM users GROUP BY level ORDER BY level DESC;
SELECT level, sum(balance), min(balance), max(balance) FROM users GROUP BY level ORDER BY level;
SELECT status, count(*) FROM orders GROUP BY status;
SELECT status, count(*) FROM orders GROUP BY status ORDER BY status;
SELECT status, count(*) FROM orders GROUP BY status ORDER BY status NULLS FIRST;
SELECT status, sum(amount) FROM orders GROUP BY status ORDER BY status DESC NULLS LAST;
SELECT product_id, count(*), sum(qty) FROM orders GROUP BY product_id ORDER BY product_id;
SELECT product_id, status, count(*) FROM orders GROUP BY product_id, status ORDER BY product_id, status;
SELECT name, count(*) FROM users GROUP BY name ORDER BY name;
SELECT nickname, count(*) FROM users GROUP BY nickname ORDER BY nickname;
SELECT created, count(*) FROM users WHERE created < '2020-02-01' GROUP BY created ORDER BY created;
SELECT level, count(*) FROM users GROUP BY level ORDER BY count(*) DESC, level;
SELECT level, count(*) AS n FROM users GROUP BY level ORDER BY n, level;
SELECT level, count(*) FROM users GROUP BY level ORDER BY sum(balance);
SELECT level FROM users GROUP BY level ORDER BY max(id);
SELECT level FROM users GROUP BY level;
SELECT level, count(*) FROM users GROUP BY 1 ORDER BY 1;
SELECT level % 3, count(*) FROM users GROUP BY level % 3 ORDER BY level % 3;
-- expect: refused
SELECT extract(year FROM created) AS y, count(*) FROM users GROUP BY y ORDER BY y;
SELECT level, status, sum(o.amount) FROM users u JOIN orders o ON o.user_id = u.id AND o.user_id = 1 WHERE u.id = 1 GROUP BY level, status ORDER BY status;
SELECT user_id, count(*) FROM orders WHERE user_id < 30 GROUP BY user_id ORDER BY user_id;
SELECT user_id, sum(amount) FROM orders GROUP BY user_id ORDER BY user_id LIMIT 10;
SELECT user_id, sum(amount) FROM orders GROUP BY user_id ORDER BY user_id DESC LIMIT 5 OFFSET 5;
SELECT level, count(*) FROM users GROUP BY level ORDER BY level LIMIT 3;
SELECT level, count(*) FROM users GROUP BY level ORDER BY level LIMIT 3 OFFSET 4;
SELECT ratio, count(*) FROM orders WHERE ratio < 2 GROUP BY ratio ORDER BY ratio;
SELECT score, count(*) FROM users WHERE score < -990 GROUP BY score ORDER BY score;
SELECT p.category, count(*) FROM orders o JOIN products p ON p.id = o.product_id GROUP BY p.category ORDER BY p.category;
SELECT level, avg(qty) FROM users u JOIN orders o ON o.user_id = u.id WHERE u.id = 2 AND o.user_id = 2 GROUP BY level;
SELECT level, min(name), max(name) FROM users GROUP BY level ORDER BY level;
SELECT count(*), level FROM users GROUP BY level ORDER BY level;
SELECT level, count(*) FROM users GROUP BY level HAVING count(*) > 300;
SELECT level, count(DISTINCT name) FROM users GROUP BY level;
-- expect: refused
SELECT level, count(*) FROM users GROUP BY ROLLUP (level);
-- expect: refused
SELECT level, sum(balance) * 2 FROM users GROUP BY level;
SELECT level, score IS NULL, count(*) FROM users GROUP BY level, score IS NULL ORDER BY level, 2;
SELECT created, count(*) FROM users GROUP BY created ORDER BY created LIMIT 5;
SELECT status, avg(ratio) FROM orders GROUP BY status ORDER BY status;
