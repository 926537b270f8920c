-- Numeric scale: DECIMAL keeps its scale through merges; integer sums are DECIMAL.
SELECT sum(balance), sum(amount) FROM users u JOIN orders o ON o.user_id = u.id;
SELECT sum(price) FROM products;
SELECT sum(ratio), min(ratio), max(ratio), avg(ratio) FROM orders;
-- expect: refused
SELECT sum(balance * 2), sum(balance / 3) FROM users;
SELECT sum(amount * 1.5) FROM orders;
SELECT sum(qty + 0.25) FROM orders;
SELECT sum(CAST(balance AS DECIMAL(20,6))) FROM users;
SELECT sum(CAST(level AS DECIMAL(5,1))) FROM users;
SELECT max(balance / 7) FROM users;
SELECT min(amount), max(amount) FROM orders WHERE amount > 999;
SELECT level, sum(balance) FROM users GROUP BY level ORDER BY sum(balance) DESC;
SELECT id, balance FROM users ORDER BY balance / 3 DESC, id LIMIT 5;
SELECT id, balance, balance * 100 FROM users WHERE id < 10;
SELECT sum(id * id) FROM users;
SELECT sum(u) FROM users WHERE u > 1000;
SELECT max(u), min(u), count(u) FROM users WHERE u > 1000;
SELECT avg(u) FROM users WHERE u > 1000;
SELECT sum(18446744073709551615) FROM users WHERE id < 10;
SELECT sum(score), avg(score), min(score), max(score) FROM users;
SELECT sum(score * 4) FROM users;
-- expect: refused
SELECT sum(level / 4) FROM users;
SELECT level, sum(ratio) FROM orders o JOIN users u ON u.id = o.user_id GROUP BY level;
SELECT 1.50 AS x, count(*) FROM users;
SELECT id, ROUND(balance, 1), TRUNCATE(balance, 0) FROM users WHERE id < 10;
SELECT sum(ROUND(balance)) FROM users;
SELECT count(*) FROM users WHERE balance = 1000;
SELECT sum(amount) FROM orders WHERE amount = amount + 0.001;
