-- Joins with the reference table products (a copy on every shard).
SELECT o.user_id, o.id, p.name, p.price FROM orders o JOIN products p ON p.id = o.product_id WHERE o.user_id < 10;
SELECT p.id, count(*) FROM orders o JOIN products p ON p.id = o.product_id GROUP BY p.id;
SELECT p.category, count(*), sum(o.qty) FROM orders o JOIN products p ON p.id = o.product_id WHERE p.category IS NOT NULL GROUP BY p.id, p.category ORDER BY p.id;
SELECT p.id, sum(o.amount) AS s FROM orders o JOIN products p ON p.id = o.product_id GROUP BY p.id ORDER BY s DESC LIMIT 3;
SELECT o.user_id, o.id, p.price * o.qty AS total FROM orders o JOIN products p ON p.id = o.product_id ORDER BY total DESC, o.user_id, o.id LIMIT 10;
SELECT sum(p.price * o.qty) FROM orders o JOIN products p ON p.id = o.product_id;
SELECT avg(p.price) FROM orders o JOIN products p ON p.id = o.product_id;
SELECT u.id, p.id FROM users u JOIN orders o ON o.user_id = u.id JOIN products p ON p.id = o.product_id WHERE u.id < 5;
SELECT * FROM products;
SELECT * FROM products ORDER BY id;
SELECT id, price FROM products ORDER BY price DESC LIMIT 5;
SELECT category, count(*) FROM products GROUP BY category;
SELECT name FROM products ORDER BY name;
-- expect: refused
SELECT p.id FROM products p LEFT JOIN orders o ON o.product_id = p.id AND o.user_id = 1 WHERE o.id IS NULL ORDER BY p.id;
SELECT count(*) FROM orders o JOIN products p ON p.id = o.product_id WHERE p.price > 250;
SELECT min(p.price), max(p.price) FROM orders o JOIN products p ON p.id = o.product_id WHERE o.user_id > 3000;
