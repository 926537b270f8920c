-- Aggregates and reads over empty results.
SELECT count(*) FROM events;
SELECT count(*) FROM users WHERE id > 5000 AND id < 900000;
SELECT sum(balance) FROM users WHERE id > 5000 AND id < 900000;
SELECT avg(balance) FROM users WHERE id > 5000 AND id < 900000;
SELECT min(name), max(name) FROM users WHERE id > 5000 AND id < 900000;
SELECT count(*), sum(qty), avg(qty), min(qty), max(qty) FROM orders WHERE qty > 100;
SELECT level, count(*) FROM users WHERE id > 5000 AND id < 900000 GROUP BY level;
SELECT id FROM users WHERE false;
SELECT id FROM users WHERE id > 5000 AND id < 900000 ORDER BY id LIMIT 3;
SELECT DISTINCT name FROM users WHERE id > 5000 AND id < 900000;
SELECT count(*) FROM users WHERE id IN (99999, 88888);
SELECT sum(amount) FROM orders WHERE user_id IN (99999, 88888);
SELECT avg(amount) FROM events e JOIN orders o ON false WHERE e.user_id = 1 AND o.user_id = 1;
SELECT count(kind), max(kind) FROM events;
SELECT user_id, count(*) FROM events GROUP BY user_id;
SELECT * FROM users WHERE id < 0 AND id > 0 ORDER BY id DESC LIMIT 5 OFFSET 1;
