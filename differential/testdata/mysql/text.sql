-- Text: passes through as select items; text keys order, group and
-- deduplicate by the column's collation (utf8mb4_general_ci here: 'alice'
-- = 'Alice', 'zoe' = 'Zoë', 'a' = 'a ' PAD SPACE), binary strings
-- (VARBINARY, CAST(… AS BINARY)) by bytes. A group of values equal under
-- the collation but not in bytes shows one of them: the proxy the first
-- shard's, MariaDB the first row its plan read; queries that show such a
-- group's text are filtered to names without such twins, or show only
-- what does not depend on the choice (counts, ids).
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
-- The collation decides these orders (ties broken by a unique key).
SELECT id, name FROM users ORDER BY name, id LIMIT 10;
SELECT id, name FROM users WHERE id < 100 ORDER BY name DESC, id;
SELECT id, name FROM users ORDER BY name, id LIMIT 40 OFFSET 100;
SELECT id, name, nickname FROM users WHERE id < 300 ORDER BY nickname, name DESC, id;
SELECT id, email FROM users ORDER BY email LIMIT 5;
SELECT id, email FROM users ORDER BY email DESC LIMIT 5;
SELECT id FROM users ORDER BY name COLLATE utf8mb4_bin, id LIMIT 5;
SELECT id, name FROM users WHERE id < 400 ORDER BY name COLLATE utf8mb4_bin DESC, id;
SELECT id, CONCAT(name, 'x') AS c FROM users WHERE id < 200 ORDER BY c, id;
SELECT id, UPPER(name) AS u FROM users WHERE id < 200 ORDER BY u DESC, id LIMIT 25;
SELECT id, name FROM users WHERE id BETWEEN 1 AND 300 ORDER BY LOWER(name), id LIMIT 50;
-- Groups and distinct values under utf8mb4_general_ci.
SELECT count(*), min(id), max(id) FROM users GROUP BY name;
SELECT count(*), min(id), max(id) FROM users GROUP BY name ORDER BY min(id);
SELECT count(*) FROM users WHERE name IN ('a', 'a ') GROUP BY name;
SELECT count(*) FROM users WHERE name IN ('alice', 'Alice', 'zoe', 'Zoë') GROUP BY name;
SELECT name, count(*) FROM users WHERE name IN ('carol', 'dave', 'éclair', '北京', '東京', 'a-b', 'a_b', ' lead', '', 'ñandú') GROUP BY name;
SELECT name, count(*), sum(level) FROM users WHERE name IN ('carol', 'dave', 'éclair', '北京', 'a-b') GROUP BY name ORDER BY name DESC;
SELECT name, count(*) FROM users WHERE name IN ('carol', 'dave', 'trent', 'peggy', 'victor') GROUP BY name HAVING count(*) > 100;
SELECT DISTINCT name FROM users WHERE name IN ('carol', 'dave', 'éclair', '北京', ' lead', '', 'mallory');
SELECT DISTINCT name FROM users WHERE name IN ('carol', 'dave', 'éclair', '北京', ' lead', '', 'mallory') ORDER BY name DESC;
SELECT DISTINCT status FROM orders ORDER BY status;
SELECT status, count(*) FROM orders GROUP BY status;
SELECT status, count(*), sum(qty) FROM orders GROUP BY status ORDER BY status DESC;
SELECT level, status, count(*) FROM orders o JOIN users u ON u.id = o.user_id WHERE u.id < 500 GROUP BY level, status;
SELECT count(DISTINCT name) FROM users;
SELECT level, count(DISTINCT name) FROM users GROUP BY level;
SELECT count(DISTINCT nickname) FROM users WHERE id < 1000;
SELECT min(name), max(name) FROM users;
SELECT min(nickname), max(nickname) FROM users;
SELECT level, min(name), max(name) FROM users WHERE name NOT IN ('alice', 'Alice', 'bob', 'Bob', 'Eve', 'eve', 'zoe', 'Zoë', 'x', 'X', 'a', 'a ') GROUP BY level;
SELECT max(CONCAT(name, 'x')) FROM users;
SELECT min(email), max(email) FROM users;
-- Twins under the collation: which one a group shows is the plan's choice.
-- known: a group of names equal under utf8mb4_general_ci ('alice', 'Alice') shows the first shard's first, MariaDB its plan's first
SELECT name, count(*) FROM users GROUP BY name;
-- UCA 4.0.0 (utf8mb4_unicode_ci): MariaDB sends utf8mb4_uca1400_ai_ci under
-- the same id (224), so the proxy asks COLLATION(x) by name.
SELECT id FROM users ORDER BY name COLLATE utf8mb4_unicode_ci, id LIMIT 5;
SELECT id, name FROM users WHERE id < 300 ORDER BY name COLLATE utf8mb4_unicode_ci DESC, id;
SELECT count(*), min(id), max(id) FROM users GROUP BY name COLLATE utf8mb4_unicode_ci;
SELECT count(DISTINCT name COLLATE utf8mb4_unicode_ci) FROM users;
SELECT max(name COLLATE utf8mb4_unicode_ci), min(nickname COLLATE utf8mb4_unicode_ci) FROM users;
SELECT DISTINCT name COLLATE utf8mb4_unicode_ci AS n FROM users WHERE name IN ('carol', 'dave', 'éclair', '北京', ' lead', '', 'mallory') ORDER BY n;
-- Collations vitess does not have (UCA 14.0.0, NO PAD): refused.
-- expect: refused
SELECT DISTINCT name COLLATE utf8mb4_uca1400_ai_ci FROM users;
-- expect: refused
SELECT id FROM users ORDER BY name COLLATE utf8mb4_uca1400_as_cs, id LIMIT 5;
-- expect: refused
SELECT max(name COLLATE utf8mb4_general_nopad_ci) FROM users;
SELECT email FROM users WHERE id = 10;
SELECT name FROM users WHERE id = 10 ORDER BY name;
