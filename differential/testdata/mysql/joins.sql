-- Co-located joins: users and orders share the key, so each shard joins its own rows.
SELECT u.id, u.name, o.id, o.amount FROM users u JOIN orders o ON o.user_id = u.id WHERE u.id < 20;
SELECT u.id, o.id, o.amount FROM users u JOIN orders o ON o.user_id = u.id ORDER BY o.amount DESC, o.id LIMIT 10;
SELECT count(*) FROM users u JOIN orders o ON o.user_id = u.id;
SELECT u.level, count(*), sum(o.amount) FROM users u JOIN orders o ON o.user_id = u.id GROUP BY u.level;
SELECT u.id, count(o.id) FROM users u LEFT JOIN orders o ON o.user_id = u.id WHERE u.id < 50 GROUP BY u.id;
SELECT u.id FROM users u LEFT JOIN orders o ON o.user_id = u.id WHERE o.id IS NULL AND u.id < 200;
SELECT count(*) FROM users u LEFT JOIN orders o ON o.user_id = u.id WHERE o.id IS NULL;
SELECT u.id, o.status FROM users u JOIN orders o ON u.id = o.user_id AND o.status = 'paid' WHERE u.level = 10 ORDER BY u.id, o.id LIMIT 20;
SELECT o.user_id, sum(o.qty) AS q FROM orders o JOIN users u ON u.id = o.user_id WHERE u.active = 1 GROUP BY o.user_id ORDER BY q DESC, o.user_id LIMIT 10;
SELECT u.level, avg(o.amount) FROM users u JOIN orders o ON o.user_id = u.id GROUP BY u.level ORDER BY u.level;
-- expect: refused
SELECT u.id, o.id FROM users u INNER JOIN orders o USING (id) WHERE u.id < 100;
SELECT u.id, o.amount FROM users AS u, orders AS o WHERE o.user_id = u.id AND u.id BETWEEN 10 AND 15;
SELECT DISTINCT u.level FROM users u JOIN orders o ON o.user_id = u.id WHERE o.qty = 20;
SELECT max(o.amount), min(u.balance) FROM users u JOIN orders o ON o.user_id = u.id WHERE u.id > 3900;
SELECT u.id, o.id FROM orders o RIGHT JOIN users u ON u.id = o.user_id WHERE u.id < 10;
SELECT u.id, o.id FROM users u JOIN orders o ON o.user_id = u.id WHERE u.id = 100 ORDER BY o.id;
SELECT * FROM users u JOIN orders o ON o.user_id = u.id ORDER BY o.id LIMIT 5;
SELECT * FROM users u JOIN orders o ON o.user_id = u.id WHERE u.id < 4;
SELECT u.*, p.name FROM users u JOIN orders o ON o.user_id = u.id JOIN products p ON p.id = o.product_id ORDER BY o.id DESC LIMIT 4;
SELECT o.id, u.id FROM orders o JOIN users u ON u.id = o.user_id ORDER BY u.id, o.id LIMIT 7 OFFSET 100;
SELECT u.level, p.category IS NULL AS nocat, count(*) FROM users u JOIN orders o ON o.user_id = u.id JOIN products p ON p.id = o.product_id GROUP BY u.level, nocat;
SELECT count(*) FROM users u JOIN orders o ON o.user_id = u.id AND o.qty > u.level;
SELECT u.id, max(o.amount) FROM users u JOIN orders o ON o.user_id = u.id GROUP BY u.id ORDER BY max(o.amount) DESC, u.id LIMIT 5;
SELECT DISTINCT o.product_id FROM users u JOIN orders o ON o.user_id = u.id WHERE u.level = 10 ORDER BY o.product_id;
SELECT count(*) FROM products p1 JOIN products p2 ON p2.id = p1.id + 1;
SELECT p.id, p.name FROM products p WHERE p.id IN (1, 2, 3) ORDER BY p.id;
-- expect: refused
SELECT u.id FROM users u WHERE u.id IN (SELECT 1) ORDER BY u.id;
-- expect: refused
SELECT u.id, o2.id FROM users u JOIN orders o2 ON o2.id = u.id WHERE u.id < 20;
