-- Point reads on the sharding key: one shard answers as it is.
SELECT * FROM users WHERE id = 1;
SELECT * FROM users WHERE id = -20;
SELECT * FROM users WHERE id = 4000;
SELECT id, name, balance FROM users WHERE id = 777;
SELECT id, name FROM users WHERE id = 0;
SELECT * FROM orders WHERE user_id = 42 ORDER BY id;
SELECT count(*), sum(amount), avg(amount) FROM orders WHERE user_id = 17;
SELECT user_id, count(*) FROM orders WHERE user_id = 99 GROUP BY user_id;
SELECT id, amount FROM orders WHERE user_id = 3 ORDER BY amount DESC, id LIMIT 2;
SELECT * FROM users WHERE id = 5 AND level > 0;
SELECT id FROM users WHERE id = 12 OR id = 12;
SELECT u.id, o.id, o.amount FROM users u JOIN orders o ON o.user_id = u.id WHERE u.id = 250 ORDER BY o.id;
SELECT name FROM users WHERE id = 8 ORDER BY name;
SELECT id, name FROM users WHERE id = '77';
SELECT id, name FROM users WHERE id = 77.0;
SELECT id, name FROM users WHERE id = '78.0';
SELECT id FROM users WHERE id = 1e1;
SELECT id FROM users WHERE 3000 = id;
SELECT `id`, `name` FROM `users` WHERE `id` = 31;
SELECT id FROM users WHERE id <=> 44;
SELECT id, balance FROM users WHERE id = -7;
-- args: 123
SELECT id, name, email FROM users WHERE id = ?;
-- args: '124'
SELECT id, name FROM users WHERE id = ?;
-- args: 55
SELECT id, amount, status FROM orders WHERE user_id = ? ORDER BY id;
