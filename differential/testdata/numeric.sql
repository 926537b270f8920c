-- Numeric scale: sums keep the largest scale, avg's scale follows Postgres.
SELECT sum(ratio) FROM orders WHERE user_id < 300;
SELECT sum(ratio), min(ratio), max(ratio) FROM orders WHERE ratio < 10;
SELECT sum(amount) FROM orders WHERE amount < 1;
SELECT sum(balance) FROM users WHERE balance < 0;
SELECT sum(balance::numeric(20,6)) FROM users;
SELECT sum(balance::numeric(20,0)) FROM users;
SELECT avg(ratio) FROM orders WHERE user_id < 300;
SELECT avg(balance::numeric(20,6)) FROM users;
SELECT avg(amount) FROM orders WHERE user_id IN (1, 2, 3, 4, 5, 6, 7, 8, 9);
SELECT sum(qty::numeric) FROM orders;
SELECT avg(qty::numeric(10,3)) FROM orders;
SELECT sum(price) FROM orders o JOIN products p ON p.id = o.product_id;
SELECT min(ratio), max(ratio) FROM orders WHERE ratio BETWEEN 5 AND 5.1;
SELECT ratio, count(*) FROM orders WHERE ratio BETWEEN 5 AND 5.1 GROUP BY ratio ORDER BY ratio;
SELECT id, ratio FROM orders WHERE ratio IS NOT NULL ORDER BY ratio, id LIMIT 10;
SELECT sum(id::numeric / 3) FROM users WHERE id < 100;
SELECT sum(level::bigint * 1000000000000) FROM users;
SELECT sum(id::numeric * 1000000000000000) FROM users;
SELECT sum(level) FROM users WHERE level > 100;
SELECT sum(score::numeric) FROM users WHERE id < 900000;
SELECT sum(level::real) FROM users;
SELECT sum(level::smallint) FROM users;
-- expect: refused
SELECT max(balance::money) FROM users;
SELECT avg(balance) FROM users WHERE id IN (1, 2, 3);
SELECT 'NaN'::numeric AS n, count(*) FROM users;
