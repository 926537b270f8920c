-- Joins of a sharded table with the reference table products.
SELECT o.id, p.name FROM orders o JOIN products p ON p.id = o.product_id WHERE o.id < 30;
SELECT o.id, p.name, o.qty * p.price AS cost FROM orders o JOIN products p ON p.id = o.product_id ORDER BY o.id LIMIT 10;
SELECT p.name, count(*) FROM orders o JOIN products p ON p.id = o.product_id GROUP BY p.name ORDER BY p.name;
SELECT p.id, sum(o.qty) FROM orders o JOIN products p ON p.id = o.product_id GROUP BY p.id ORDER BY p.id;
SELECT p.category, sum(o.amount), avg(o.qty) FROM orders o JOIN products p ON p.id = o.product_id GROUP BY p.category ORDER BY p.category;
SELECT count(*) FROM orders o JOIN products p ON p.id = o.product_id WHERE p.category = 'a';
SELECT o.id FROM orders o LEFT JOIN products p ON p.id = o.product_id + 35 WHERE p.id IS NULL AND o.id < 40;
SELECT DISTINCT p.name FROM orders o JOIN products p ON p.id = o.product_id WHERE o.qty = 20 ORDER BY p.name;
SELECT * FROM products;
SELECT * FROM products ORDER BY id;
SELECT * FROM products WHERE id = 3;
SELECT count(*), sum(price) FROM products;
SELECT category, count(*) FROM products GROUP BY category ORDER BY category;
SELECT u.id, p.name FROM users u JOIN products p ON p.id = u.level WHERE u.id < 20;
SELECT p.name, max(u.balance) FROM users u JOIN products p ON p.id = u.level GROUP BY p.name ORDER BY p.name;
SELECT o.id, o.user_id FROM orders o, products p WHERE p.id = o.product_id AND p.price > 490 ORDER BY o.id LIMIT 10;
-- expect: refused
SELECT u.id, o.id FROM users u JOIN orders o ON o.user_id = u.id WHERE u.id < 10;
-- expect: refused
SELECT count(*) FROM users u JOIN orders o ON o.user_id = u.id;
-- expect: refused
SELECT id FROM users WHERE id IN (SELECT user_id FROM orders WHERE qty = 20);
-- expect: refused
SELECT o.id FROM orders o WHERE o.product_id IN (SELECT id FROM products WHERE category = 'c') AND o.id < 60;
SELECT level, status FROM users u JOIN orders o ON o.user_id = u.id WHERE u.id = 9;
-- An outer join preserving reference tables only: every shard would return
-- the unmatched products (found by the MySQL differential test).
-- expect: refused
SELECT p.id, o.id FROM products p LEFT JOIN orders o ON o.product_id = p.id AND o.id < 0 ORDER BY p.id;
-- expect: refused
SELECT count(*) FROM products p LEFT JOIN orders o ON o.product_id = p.id AND o.id < 0;
-- expect: refused
SELECT p.id FROM orders o RIGHT JOIN products p ON p.id = o.product_id AND o.id < 0 ORDER BY 1;
-- expect: refused
SELECT p.id FROM products p FULL JOIN orders o ON p.id = o.product_id AND o.id < 0 WHERE o.id IS NULL ORDER BY 1;
-- expect: refused
SELECT p.id FROM products p LEFT JOIN (orders o JOIN products q ON q.id = o.product_id) ON o.product_id = p.id ORDER BY 1;
-- The preserved side holds a sharded table: each row once, with its matches.
SELECT o.id, p.name FROM orders o LEFT JOIN products p ON p.id = o.product_id AND p.price > 400 WHERE o.id < 30 ORDER BY o.id;
SELECT count(*), count(p.id) FROM products p RIGHT JOIN orders o ON p.id = o.product_id AND p.price > 400;
SELECT o.id, p.id FROM (orders o LEFT JOIN products p ON p.id = o.product_id) WHERE o.id < 20 ORDER BY 1;
-- A key in the ON clause of the NULL-supplying side bounds nothing (keys
-- count only in the top-level WHERE): still every shard, still refused.
-- expect: refused
SELECT p.id, o.id FROM products p LEFT JOIN orders o ON o.product_id = p.id AND o.user_id = 7 ORDER BY 1, 2;
