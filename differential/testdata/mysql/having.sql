-- HAVING, evaluated on the merged groups.
SELECT level, count(*) FROM users GROUP BY level HAVING count(*) > 400;
SELECT level, count(*) AS c FROM users GROUP BY level HAVING c < 400;
SELECT product_id, sum(amount) FROM orders GROUP BY product_id HAVING sum(amount) > 100000;
SELECT product_id, sum(amount) AS s FROM orders GROUP BY product_id HAVING s BETWEEN 95000 AND 100000.5;
SELECT user_id, count(*) FROM orders GROUP BY user_id HAVING count(*) = 4 ORDER BY user_id LIMIT 10;
SELECT user_id FROM orders GROUP BY user_id HAVING max(qty) = 20 AND min(qty) = 1 ORDER BY user_id;
SELECT level FROM users GROUP BY level HAVING avg(balance) > 50000;
SELECT level, avg(balance) FROM users GROUP BY level HAVING avg(balance) <= 50000 OR level = 1;
SELECT level FROM users GROUP BY level HAVING NOT (count(*) > 410);
SELECT level FROM users GROUP BY level HAVING level IN (1, 2, 3);
SELECT level, count(*) FROM users GROUP BY level HAVING level > 5 ORDER BY level DESC;
SELECT active, sum(u) FROM users GROUP BY active HAVING sum(u) IS NOT NULL;
SELECT qty FROM orders GROUP BY qty HAVING count(*) > 300 AND qty <> 1;
SELECT qty, count(*) FROM orders GROUP BY qty HAVING count(*) <=> 400;
SELECT product_id FROM orders GROUP BY product_id HAVING min(ratio) < 0.1;
SELECT level, count(*) FROM users GROUP BY level HAVING count(*) > 0 ORDER BY count(*) DESC, level LIMIT 3;
SELECT level FROM users GROUP BY level HAVING TRUE;
SELECT level FROM users GROUP BY level HAVING count(*) > 10000;
-- expect: refused
SELECT level FROM users GROUP BY level HAVING count(*) > '400';
-- expect: refused
SELECT level FROM users GROUP BY level HAVING max(created) > 5;
-- expect: refused
SELECT level FROM users GROUP BY level HAVING sum(score) > 1e3;
SELECT level, count(*) FROM users GROUP BY level HAVING count(*) NOT IN (1, 2, 3) AND level NOT IN (4);
SELECT qty, count(*) FROM orders GROUP BY qty HAVING qty IN (1, NULL, 20);
SELECT qty FROM orders GROUP BY qty HAVING qty NOT IN (1, NULL, 20);
SELECT level FROM users GROUP BY level HAVING max(score) IN (8999.75, 9000, -1000) OR min(score) IN (-1000);
