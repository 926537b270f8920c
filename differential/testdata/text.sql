-- Text ordering: byte order under C.UTF-8 (accents, scripts, case, '').
SELECT name, id FROM users ORDER BY name, id LIMIT 20;
SELECT name, id FROM users ORDER BY name DESC, id LIMIT 20;
SELECT name, id FROM users WHERE name > 'Z' ORDER BY name, id LIMIT 20;
SELECT name, id FROM users WHERE name >= 'é' ORDER BY name, id LIMIT 10;
SELECT min(name), max(name) FROM users WHERE name <> '';
SELECT DISTINCT name FROM users ORDER BY name DESC;
SELECT name, count(*) FROM users GROUP BY name ORDER BY name DESC;
SELECT email, id FROM users ORDER BY email LIMIT 10;
SELECT email FROM users ORDER BY email DESC LIMIT 10;
SELECT name || '!' AS shout, id FROM users ORDER BY shout, id LIMIT 10;
SELECT lower(name) AS l, id FROM users ORDER BY l, id LIMIT 10 OFFSET 200;
SELECT name COLLATE "C", id FROM users ORDER BY 1, 2 LIMIT 10;
SELECT name, id FROM users ORDER BY name COLLATE "C", id LIMIT 10;
-- expect: refused
SELECT name, id FROM users ORDER BY name COLLATE "en-x-icu", id LIMIT 10;
SELECT max(email) FROM users;
SELECT length(name), count(*) FROM users GROUP BY length(name) ORDER BY length(name);
SELECT nickname, id FROM users ORDER BY nickname, id LIMIT 10 OFFSET 2000;
-- expect: refused
SELECT left(email, 3) AS p, count(*) FROM users GROUP BY p ORDER BY p;
SELECT name::varchar(3) AS short, id FROM users ORDER BY short, id LIMIT 10;
SELECT status, id FROM orders ORDER BY status DESC, id DESC LIMIT 10;
