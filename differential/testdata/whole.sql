-- Whole tables and many groups: long merges.
SELECT * FROM users;
SELECT * FROM users ORDER BY id;
SELECT * FROM orders;
SELECT * FROM orders ORDER BY id DESC;
SELECT user_id, count(*), sum(amount), avg(amount) FROM orders GROUP BY user_id;
SELECT user_id, avg(ratio), min(ratio), max(ratio) FROM orders GROUP BY user_id ORDER BY user_id;
SELECT user_id, avg(qty), sum(qty) FROM orders GROUP BY user_id ORDER BY user_id DESC;
SELECT id, count(*) FROM users GROUP BY id ORDER BY id;
SELECT id, name, count(*) FROM users WHERE id < 50 GROUP BY id ORDER BY id;
SELECT DISTINCT user_id FROM orders ORDER BY user_id;
SELECT DISTINCT email FROM users;
SELECT name, level, count(*), avg(balance) FROM users GROUP BY name, level ORDER BY name, level;
SELECT created, avg(level) FROM users GROUP BY created ORDER BY created;
SELECT DISTINCT user_id, status FROM orders ORDER BY user_id, status;
