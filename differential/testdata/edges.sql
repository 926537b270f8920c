-- Edges: NaN and Infinity, shards with nothing to give, spelling.
SELECT DISTINCT CASE WHEN level = 1 THEN 'NaN'::numeric ELSE level END AS x FROM users ORDER BY x;
SELECT DISTINCT CASE WHEN level = 1 THEN 'Infinity'::numeric WHEN level = 2 THEN '-Infinity' ELSE level END AS x FROM users ORDER BY x DESC;
SELECT max(CASE WHEN id = 3 THEN 'NaN'::numeric ELSE balance END), min(CASE WHEN id = 3 THEN 'NaN'::numeric ELSE balance END) FROM users;
SELECT sum(CASE WHEN id = 3 THEN 'NaN'::numeric ELSE balance END) FROM users;
SELECT avg(CASE WHEN id = 3 THEN 'NaN'::numeric ELSE balance END) FROM users;
SELECT sum(CASE WHEN id = 3 THEN 'Infinity'::numeric ELSE balance END) FROM users;
SELECT sum(CASE WHEN id = 3 THEN '-Infinity'::numeric ELSE balance END), avg(CASE WHEN id = 4 THEN 'Infinity'::numeric ELSE balance END) FROM users;
SELECT sum(score), avg(score) FROM users WHERE id IN (900002, 900003);
SELECT sum(score), avg(score) FROM users WHERE id IN (900001, 1, 2, 3);
SELECT avg(score) FROM users WHERE id IN (900002, 1, 2, 3);
SELECT min(id), max(id) FROM users WHERE id > 3990 AND id < 900000;
SELECT max(nickname), min(nickname) FROM users WHERE id > 3995 AND id < 900000;
SELECT avg(ratio), sum(ratio) FROM orders WHERE user_id IN (1, 2, 3, 4, 5, 6);
SELECT count(*) FROM users WHERE name = '';
SELECT id, balance > 0 AS pos FROM users ORDER BY pos, id LIMIT 5;
SELECT balance > 0 AS pos, count(*) FROM users GROUP BY balance > 0 ORDER BY balance > 0;
SELECT id, created FROM users ORDER BY created DESC, id DESC LIMIT 5;
SELECT u.id AS x FROM users u ORDER BY u.id DESC LIMIT 3;
SELECT id * 2 FROM users ORDER BY id * 2 LIMIT 3;
SELECT max(level) AS m FROM users ORDER BY m;
SELECT count(*) FROM users GROUP BY level ORDER BY level;
SELECT count(*) FROM users GROUP BY level;
SELECT status FROM orders GROUP BY status ORDER BY min(ratio) DESC NULLS LAST, status;
SELECT ID FROM USERS ORDER BY ID LIMIT 2;
SELECT id FROM public.users ORDER BY id LIMIT 2;
SELECT "id" FROM "users" ORDER BY "id" DESC LIMIT 2;
SELECT count(*) FROM ONLY users;
SELECT DISTINCT level FROM users WHERE level > 100 ORDER BY level;
SELECT name, nickname, id FROM users ORDER BY name DESC, nickname NULLS FIRST, id LIMIT 10;
SELECT level, count(*) FROM users GROUP BY level ORDER BY level NULLS FIRST;
-- args: 2
SELECT id FROM users ORDER BY id * $1 LIMIT 3;
-- args: 2
SELECT level * $1 AS l2, count(*) FROM users GROUP BY level * $1 ORDER BY level * $1;
-- args: 'a'
SELECT name, count(*) FROM users WHERE name > $1 GROUP BY name ORDER BY name;
SELECT true AS t, count(*) FROM users;
-- expect: refused
SELECT current_date - current_date AS zero, count(*) FROM users;
SELECT count(*) FROM users WHERE created < current_date;
-- expect: refused
SELECT id, name FROM users WHERE id IN (SELECT id FROM products WHERE id < 4) ORDER BY id;
SELECT level, count(*) FROM users GROUP BY level ORDER BY 2 DESC, 1;
SELECT level, count(*) FROM users GROUP BY level ORDER BY count(*), level LIMIT 2 OFFSET 1;
SELECT p.name, count(*) FROM products p JOIN orders o ON o.product_id = p.id GROUP BY p.name ORDER BY count(*) DESC, p.name LIMIT 3;
