-- HAVING after the merge: each shard returns every group, the proxy
-- combines them and keeps the groups the condition holds for.
SELECT level, count(*) FROM users GROUP BY level HAVING count(*) > 400 ORDER BY level;
SELECT level FROM users GROUP BY level HAVING count(*) > 400;
SELECT level, count(*) FROM users GROUP BY level HAVING count(*) >= 400 AND count(*) < 420;
SELECT level, sum(balance) FROM users GROUP BY level HAVING sum(balance) >= 20000000 ORDER BY level;
SELECT level FROM users GROUP BY level HAVING sum(balance) > 19999999.99 AND max(score) < 9000 ORDER BY level;
SELECT level, avg(balance) FROM users GROUP BY level HAVING avg(balance) > 50000.5 OR min(name) = '' ORDER BY level;
SELECT status, count(*) FROM orders GROUP BY status HAVING status IS NULL OR count(*) < 2000;
SELECT status, count(*) FROM orders GROUP BY status HAVING status IS NOT NULL AND NOT (status = 'new');
SELECT status FROM orders GROUP BY status HAVING status > 'new' ORDER BY status;
SELECT user_id, count(*) FROM orders WHERE user_id < 300 GROUP BY user_id HAVING count(*) = 4 ORDER BY user_id;
SELECT user_id FROM orders GROUP BY user_id HAVING sum(qty) > 70 ORDER BY user_id;
SELECT product_id, sum(amount) FROM orders GROUP BY product_id HAVING sum(amount) BETWEEN 9000000 AND 10500000 ORDER BY product_id;
SELECT product_id FROM orders GROUP BY product_id HAVING count(*) NOT BETWEEN 150 AND 250 ORDER BY product_id;
SELECT level, count(*) FROM users GROUP BY level HAVING level IN (1, 3, 5) AND count(*) NOT IN (1, 2) ORDER BY level;
SELECT level % 3, count(*) FROM users GROUP BY level % 3 HAVING level % 3 > 0 ORDER BY 1;
SELECT name, count(*) FROM users GROUP BY name HAVING max(level) > min(level) AND name < 'b' ORDER BY name;
SELECT nickname, count(*) FROM users GROUP BY nickname HAVING nickname IS NULL;
SELECT level, max(score) FROM users WHERE id < 900000 GROUP BY level HAVING max(score) > 8998.5 ORDER BY level;
SELECT level, min(created) FROM users GROUP BY level HAVING min(created) < '2020-01-03' ORDER BY level;
SELECT count(*) FROM users HAVING count(*) > 1;
SELECT count(*) FROM users WHERE id > 1000000 HAVING count(*) > 0;
SELECT sum(qty) FROM orders HAVING sum(qty) IS NOT NULL;
SELECT level, count(*) FROM users GROUP BY level HAVING true ORDER BY level;
SELECT level, count(*) FROM users GROUP BY level HAVING count(*) > 400 ORDER BY count(*) DESC, level LIMIT 3;
SELECT level, count(*) FROM users GROUP BY level HAVING count(*) > '400' ORDER BY level;
SELECT status, avg(ratio) FROM orders GROUP BY status HAVING avg(ratio) > 49.5 ORDER BY status;
SELECT level FROM users WHERE id < 900000 GROUP BY level HAVING avg(score) > 3900 ORDER BY level;
SELECT user_id, count(*) FROM orders WHERE user_id IN (5, 50, 500, 3500) GROUP BY user_id HAVING count(*) > 1 ORDER BY user_id;
-- args: 400
SELECT level, count(*) FROM users GROUP BY level HAVING count(*) > $1 ORDER BY level;
-- args: 'new'
SELECT status, count(*) FROM orders GROUP BY status HAVING status <> $1 ORDER BY status;
-- The server's own errors reach the client.
SELECT level FROM users GROUP BY level HAVING count(*) > 'x';
SELECT level FROM users GROUP BY level HAVING name > 'a';
-- expect: refused
SELECT level FROM users GROUP BY level HAVING count(*)::int > 400;
-- expect: refused
SELECT level FROM users GROUP BY level HAVING sum(balance) / count(*) > 50000;
-- expect: refused
SELECT level FROM users GROUP BY level HAVING bool_and(score > 0);
-- expect: refused
SELECT level FROM users GROUP BY level HAVING max(name) LIKE 'z%';
-- Cast constants are computed by the shards, typed as the server types them.
SELECT level FROM users GROUP BY level HAVING max(created) > '2025-06-01'::date ORDER BY level;
SELECT level FROM users GROUP BY level HAVING level::text <> '3' AND min(balance) < -999.5::numeric ORDER BY level;
SELECT count(*) FROM users WHERE id > 1000000 HAVING count(*) < 5::int;
-- args: 400
SELECT level, count(*) FROM users GROUP BY level HAVING count(*) > $1::int ORDER BY level;
-- expect: refused
SELECT level FROM users GROUP BY level HAVING max(created) > '2025-06-01'::timestamp;
SELECT level, max(score) FROM users WHERE id < 30 GROUP BY level HAVING max(score) IS DISTINCT FROM 3 ORDER BY level;
SELECT nickname, count(*) FROM users GROUP BY nickname HAVING nickname IS NOT DISTINCT FROM NULL OR nickname IS NOT DISTINCT FROM 'bob';
