-- Point reads: one shard, passed through.
SELECT * FROM users WHERE id = 1;
SELECT * FROM users WHERE id = -7;
SELECT * FROM users WHERE id = 4000;
SELECT * FROM users WHERE id = 123456;
SELECT id, name, balance FROM users WHERE id = 2500;
SELECT name, email FROM users WHERE id = 17 AND level > 0;
SELECT * FROM orders WHERE user_id = 42 ORDER BY id;
SELECT count(*) FROM orders WHERE user_id = 42;
SELECT sum(amount), avg(amount), min(status), max(status) FROM orders WHERE user_id = 1000;
SELECT * FROM users WHERE id = 900001;
SELECT score FROM users WHERE id = 900004;
-- args: 77
SELECT * FROM users WHERE id = $1;
-- args: 77
SELECT * FROM orders WHERE user_id = $1 ORDER BY id;
SELECT u.name, o.id, o.amount FROM users u JOIN orders o ON o.user_id = u.id WHERE u.id = 55 AND o.user_id = 55 ORDER BY o.id;
SELECT o.id, p.name FROM orders o JOIN products p ON p.id = o.product_id WHERE o.user_id = 300 ORDER BY o.id;
SELECT id FROM users WHERE id = 5 OR id = 5;
SELECT * FROM events WHERE user_id = 3;
SELECT count(*) FROM events WHERE user_id = 3;
