-- count/sum/avg(DISTINCT): exact per shard over or grouped by the sharding
-- key, else the shards ship the values and the proxy counts them.
SELECT count(DISTINCT name) FROM users;
SELECT count(DISTINCT level), count(*) FROM users;
SELECT count(DISTINCT id) FROM users;
SELECT count(DISTINCT user_id) FROM orders;
SELECT sum(DISTINCT user_id), avg(DISTINCT user_id) FROM orders;
SELECT level, count(DISTINCT name) FROM users GROUP BY level ORDER BY level;
SELECT level, count(DISTINCT name), count(DISTINCT nickname), count(*) FROM users GROUP BY level ORDER BY level;
SELECT status, count(DISTINCT user_id), count(DISTINCT product_id) FROM orders GROUP BY status ORDER BY status;
SELECT status, sum(DISTINCT qty), avg(DISTINCT qty), sum(qty), avg(qty) FROM orders GROUP BY status ORDER BY status;
SELECT sum(DISTINCT amount), avg(DISTINCT amount) FROM orders;
SELECT sum(DISTINCT ratio), avg(DISTINCT ratio) FROM orders;
SELECT level, sum(DISTINCT score) FROM users WHERE id < 900000 GROUP BY level ORDER BY level;
SELECT user_id, count(DISTINCT status) FROM orders WHERE user_id < 50 GROUP BY user_id ORDER BY user_id;
SELECT count(DISTINCT lower(name)) FROM users;
SELECT count(DISTINCT created) FROM users;
SELECT level FROM users GROUP BY level ORDER BY count(DISTINCT name) DESC, level;
SELECT level, count(DISTINCT name) FROM users GROUP BY level HAVING count(DISTINCT name) < 30 ORDER BY level;
SELECT count(DISTINCT name) FROM users WHERE id > 1000000;
SELECT u.level, count(DISTINCT o.status) FROM users u JOIN orders o ON o.user_id = u.id WHERE u.id = 7 AND o.user_id = 7 GROUP BY u.level;
SELECT count(DISTINCT p.category) FROM orders o JOIN products p ON p.id = o.product_id;
SELECT count(DISTINCT name) FROM users WHERE id IN (1, 2, 3, 1000, 2000, 3000);
SELECT sum(DISTINCT level) FROM users;
-- expect: refused
SELECT count(DISTINCT name ORDER BY name) FROM users;
-- expect: refused
SELECT string_agg(DISTINCT name, ',') FROM users;
-- expect: refused
SELECT count(DISTINCT name) + 1 FROM users;
-- While values are shipped, a column outside the aggregates must be a GROUP BY expression.
-- expect: refused
SELECT level, name, count(DISTINCT nickname) FROM users GROUP BY level;
SELECT level % 3, count(DISTINCT name), 'x' FROM users GROUP BY level % 3 HAVING level % 3 > 0 ORDER BY 1;
SELECT o.status, count(DISTINCT o.product_id) FROM orders o GROUP BY o.status HAVING max(o.qty) > 1 ORDER BY o.status;
-- Shipped values over no rows at all: one group, as on one database.
SELECT count(DISTINCT name), count(*), sum(DISTINCT level) FROM users WHERE id > 1000000;
-- expect: refused
SELECT 'x', count(DISTINCT name) FROM users WHERE id > 1000000;
-- real: sum(DISTINCT) adds in float4 in ascending order, avg(DISTINCT) in float8.
SELECT sum(DISTINCT score::real), avg(DISTINCT score::real) FROM users WHERE id < 900000;
SELECT level, sum(DISTINCT (score * 1.1)::real), avg(DISTINCT (score * 1.1)::real) FROM users WHERE id < 900000 GROUP BY level ORDER BY level;
