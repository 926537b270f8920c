-- DISTINCT: sorted, de-duplicated shard results merged.
SELECT DISTINCT level FROM users;
SELECT DISTINCT level FROM users ORDER BY level;
SELECT DISTINCT level FROM users ORDER BY level DESC;
SELECT DISTINCT status FROM orders;
SELECT DISTINCT status FROM orders ORDER BY status;
SELECT DISTINCT status FROM orders ORDER BY status DESC NULLS LAST;
SELECT DISTINCT name FROM users ORDER BY name;
SELECT DISTINCT nickname FROM users ORDER BY nickname;
SELECT DISTINCT level, status FROM users u JOIN orders o ON o.user_id = u.id AND o.user_id = 9 WHERE u.id = 9;
SELECT DISTINCT product_id, status FROM orders ORDER BY product_id, status;
SELECT DISTINCT product_id FROM orders ORDER BY product_id LIMIT 5;
SELECT DISTINCT product_id FROM orders ORDER BY product_id DESC LIMIT 5 OFFSET 3;
SELECT DISTINCT level FROM users LIMIT 20;
SELECT DISTINCT created FROM users WHERE created < '2020-01-15' ORDER BY created;
SELECT DISTINCT ratio FROM orders WHERE ratio < 1 ORDER BY ratio;
SELECT DISTINCT qty, status FROM orders;
SELECT DISTINCT level % 2 FROM users;
SELECT DISTINCT lower(name) FROM users ORDER BY lower(name);
SELECT DISTINCT score FROM users WHERE score < -995 ORDER BY score;
SELECT DISTINCT balance > 0 FROM users;
-- expect: refused
SELECT DISTINCT ON (level) level, id FROM users ORDER BY level, id;
-- expect: refused
SELECT DISTINCT * FROM orders WHERE qty = 20;
-- expect: refused
SELECT DISTINCT count(*) FROM users;
SELECT DISTINCT p.category FROM orders o JOIN products p ON p.id = o.product_id ORDER BY p.category;
SELECT DISTINCT ratio::text FROM orders WHERE ratio BETWEEN 3 AND 3.01;
SELECT DISTINCT level FROM users ORDER BY level LIMIT 2 OFFSET 3;
SELECT DISTINCT level, status FROM users u, products p WHERE false;
SELECT DISTINCT product_id, status FROM orders ORDER BY status, product_id LIMIT 7;
SELECT DISTINCT product_id, status FROM orders ORDER BY status DESC NULLS FIRST, product_id DESC LIMIT 7 OFFSET 2;
SELECT DISTINCT nickname, level FROM users ORDER BY level, nickname LIMIT 10;
SELECT DISTINCT name FROM users ORDER BY name LIMIT ALL;
SELECT id FROM users ORDER BY id LIMIT 1 OFFSET 4024;
