-- Text: passes through as select items; ordering and grouping of text
-- under a collation that is not byte order is refused (1235), and
-- binary strings (VARBINARY, CAST(… AS BINARY)) order and group by bytes.
SELECT id, name, email FROM users WHERE id < 60;
SELECT id, name FROM users WHERE name = 'alice' AND id < 500;
SELECT id, name FROM users WHERE name = 'ALICE' AND id < 500;
SELECT id, name FROM users WHERE name = 'a' AND id < 2000;
SELECT id, name FROM users WHERE name LIKE 'a%' AND id < 300;
SELECT id, name FROM users WHERE name LIKE '%\_%' AND id < 300;
SELECT id, name FROM users WHERE name = 'O''Brien' AND id < 1000;
SELECT id, name FROM users WHERE name = 'back\\slash';
SELECT id, name FROM users WHERE name = '北京' AND id < 300;
SELECT id, name FROM users WHERE name REGEXP '^[A-Z]' AND id < 100;
SELECT count(*) FROM users WHERE name = '';
SELECT count(*) FROM users WHERE name = 'zoe';
SELECT id, CONCAT(name, '#', id) FROM users WHERE id < 30;
SELECT id, UPPER(name), LENGTH(name), CHAR_LENGTH(name) FROM users WHERE id < 30;
SELECT id, bname FROM users ORDER BY bname, id LIMIT 20;
SELECT id, name FROM users WHERE id < 200 ORDER BY CAST(name AS BINARY), id;
SELECT id, name FROM users WHERE id < 200 ORDER BY CAST(name AS BINARY) DESC, id LIMIT 30;
SELECT CAST(name AS BINARY) AS b, count(*) FROM users GROUP BY b;
SELECT CAST(name AS BINARY) AS b, count(*) FROM users GROUP BY b ORDER BY count(*) DESC, b LIMIT 5;
SELECT DISTINCT CAST(nickname AS BINARY) AS b FROM users ORDER BY b;
SELECT min(CAST(name AS BINARY)), max(CAST(name AS BINARY)) FROM users;
SELECT min(bname), max(bname) FROM users WHERE id > 100;
SELECT count(DISTINCT bname) FROM users;
-- expect: refused
SELECT HEX(bname), count(*) FROM users GROUP BY bname ORDER BY bname;
SELECT email FROM users WHERE id = 10;
SELECT name FROM users WHERE id = 10 ORDER BY name;
-- The collation decides these orders: refused.
-- expect: refused
SELECT id, name FROM users ORDER BY name, id LIMIT 10;
-- expect: refused
SELECT id, name FROM users WHERE id < 100 ORDER BY name DESC, id;
-- expect: refused
SELECT name, count(*) FROM users GROUP BY name;
-- expect: refused
SELECT DISTINCT name FROM users;
-- expect: refused
SELECT min(name), max(name) FROM users;
-- expect: refused
SELECT count(DISTINCT name) FROM users;
-- expect: refused
SELECT status, count(*) FROM orders GROUP BY status;
-- expect: refused
SELECT DISTINCT status FROM orders ORDER BY status;
-- expect: refused
SELECT id, email FROM users ORDER BY email LIMIT 5;
-- expect: refused
SELECT min(nickname) FROM users;
-- expect: refused
SELECT id FROM users ORDER BY name COLLATE utf8mb4_bin, id LIMIT 5;
-- expect: refused
SELECT LOWER(name) AS l, count(*) FROM users GROUP BY l;
-- expect: refused
SELECT max(CONCAT(name, 'x')) FROM users;
-- expect: refused
SELECT DISTINCT nickname FROM users WHERE id < 100;
