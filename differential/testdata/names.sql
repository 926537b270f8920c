-- Output names, aliases and hidden columns: what ORDER BY refers to.
SELECT email AS id, id AS email FROM users ORDER BY id LIMIT 5;
SELECT name AS id, id AS name FROM users ORDER BY name LIMIT 5;
SELECT id AS "Id" FROM users ORDER BY "Id" DESC LIMIT 3;
SELECT id AS sg_hidden_1 FROM users ORDER BY email LIMIT 3;
SELECT id AS sg_hidden_0, name FROM users ORDER BY sg_hidden_0 DESC LIMIT 3;
SELECT level AS x, count(*) FROM users GROUP BY level ORDER BY x;
SELECT avg(balance) AS a, level FROM users GROUP BY level ORDER BY a;
SELECT level, avg(balance) FROM users GROUP BY level ORDER BY avg(balance) DESC;
SELECT level, count(*) FROM users GROUP BY level ORDER BY avg(balance);
SELECT level, sum(balance) AS avg FROM users GROUP BY level ORDER BY avg;
SELECT count(*) AS sum, sum(qty) AS count FROM orders;
SELECT max(id) AS min, min(id) AS max FROM users;
-- expect: refused
SELECT *, id FROM users ORDER BY 1 LIMIT 3;
SELECT users.* FROM users ORDER BY id DESC LIMIT 3;
SELECT u.* FROM users u WHERE u.level = 2 ORDER BY u.id LIMIT 4;
-- expect: refused
SELECT * FROM users ORDER BY 9 LIMIT 3;
SELECT /* a comment */ id FROM users ORDER BY id LIMIT 2;
SELECT id FROM users -- a comment
ORDER BY id DESC LIMIT 2;
SELECT count(*) FROM users LIMIT 1 OFFSET 1;
SELECT count(*) FROM users LIMIT 0;
SELECT count(*) FROM users OFFSET 0;
SELECT level, count(*) FROM users GROUP BY level ORDER BY level OFFSET 8;
SELECT id, email FROM users ORDER BY email LIMIT 5;
SELECT id FROM users ORDER BY id LIMIT 9223372036854775807 OFFSET 4015;
SELECT id FROM users ORDER BY id DESC LIMIT 3 OFFSET 9223372036854775807;
SELECT id FROM users ORDER BY id LIMIT -1;
SELECT id FROM users ORDER BY id OFFSET -1;
SELECT 1 / (id - 5) FROM users;
SELECT sum(1 / (id - 3000)) FROM users;
SELECT id, level FROM users ORDER BY level, id DESC LIMIT 3;
-- args: 5
SELECT $1::int AS p, count(*) FROM users;
-- args: 3
SELECT level, avg(qty) FROM users u JOIN orders o ON o.user_id = u.id WHERE u.id = $1 AND o.user_id = $1 GROUP BY level;
-- args: 4
SELECT avg(balance) FROM users WHERE level = $1;
-- args: 4 'paid'
SELECT product_id, count(*) FROM orders WHERE qty > $1 AND status = $2 GROUP BY product_id ORDER BY product_id;
