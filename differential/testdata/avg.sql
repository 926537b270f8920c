-- avg: a sum and a hidden count per shard.
SELECT avg(level) FROM users;
SELECT avg(id) FROM users;
SELECT avg(qty) FROM orders;
SELECT avg(balance) FROM users;
SELECT avg(amount) FROM orders;
SELECT avg(ratio) FROM orders;
SELECT avg(score) FROM users WHERE id < 900000;
SELECT avg(level), avg(balance) FROM users WHERE id < 1000;
SELECT avg(qty) AS mean, count(*) FROM orders WHERE status = 'paid';
SELECT avg(amount) FROM orders WHERE user_id < 100;
SELECT avg(level::numeric) FROM users;
SELECT avg(level::bigint) FROM users;
SELECT avg(level::smallint) FROM users;
SELECT avg(score::real) FROM users WHERE id < 900000;
SELECT avg(id) FROM users WHERE id IN (1, 2);
SELECT avg(id) FROM users WHERE id IN (1, 2, 4);
SELECT avg(balance) FROM users WHERE id IN (3, 3000);
SELECT avg(ratio) FROM orders WHERE ratio IS NOT NULL AND user_id < 50;
SELECT level, avg(balance) FROM users GROUP BY level ORDER BY level;
SELECT status, avg(qty), avg(amount) FROM orders GROUP BY status ORDER BY status;
SELECT avg(extract(year FROM created)) FROM users;
SELECT avg(score) FROM users;
SELECT avg(0.1::real) FROM users;
-- avg(real) next to other averages: only its sum is taken in float8.
SELECT level, avg(score::real), avg(balance), avg(level) FROM users WHERE id < 900000 GROUP BY level ORDER BY avg(score::real), level;
SELECT level FROM users WHERE id < 900000 GROUP BY level HAVING avg(score::real) > 3900 ORDER BY level;
