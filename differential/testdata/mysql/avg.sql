-- avg: DECIMAL with div_precision_increment more decimals, rounded half up.
SELECT avg(balance) FROM users;
SELECT avg(amount) FROM orders;
SELECT avg(qty) FROM orders;
SELECT avg(level) FROM users;
SELECT avg(id) FROM users;
SELECT avg(ratio) FROM orders;
SELECT avg(score) FROM users;
SELECT avg(u) FROM users;
SELECT avg(active) FROM users;
SELECT avg(balance) FROM users WHERE id < 0;
SELECT avg(balance), count(*) FROM users WHERE id > 5000;
SELECT level, avg(balance) FROM users GROUP BY level;
SELECT level, avg(balance) AS a FROM users GROUP BY level ORDER BY a DESC;
SELECT status, avg(qty), avg(amount) FROM orders WHERE status IS NOT NULL AND user_id < 1000 GROUP BY product_id, status ORDER BY product_id, status LIMIT 10;
SELECT product_id, avg(ratio) FROM orders GROUP BY product_id;
SELECT avg(qty * 3) FROM orders;
-- expect: refused
SELECT avg(amount / 7) FROM orders;
-- set: SET div_precision_increment = 8
SELECT avg(balance), avg(qty) FROM users u JOIN orders o ON o.user_id = u.id;
-- set: SET div_precision_increment = 0
SELECT avg(level), avg(amount) FROM users u JOIN orders o ON o.user_id = u.id;
-- set: SET SESSION div_precision_increment = 12
SELECT level, avg(balance) FROM users GROUP BY level;
-- MariaDB truncates avg where its scale is a whole number of 9-digit words.
SELECT avg(CAST(ratio AS DECIMAL(12,5))) FROM orders;
SELECT product_id, avg(CAST(amount AS DECIMAL(14,5))) FROM orders GROUP BY product_id;
-- set: SET div_precision_increment = 0
SELECT level, avg(qty), avg(u) FROM users u JOIN orders o ON o.user_id = u.id GROUP BY level;
-- set: SET div_precision_increment = 5
SELECT avg(ratio), avg(amount) FROM orders;
-- set: SET div_precision_increment = 9
SELECT avg(qty), avg(level) FROM users u JOIN orders o ON o.user_id = u.id;
