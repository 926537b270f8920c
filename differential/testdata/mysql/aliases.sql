-- Names that are both an alias and a table column: MariaDB resolves a
-- GROUP BY name to the table's column first, an ORDER BY name to the alias.
-- expect: refused
SELECT level AS id, count(*) FROM users WHERE id < 40 GROUP BY id;
-- expect: refused
SELECT level AS active, count(*) FROM users GROUP BY active;
-- expect: refused
SELECT level AS active, count(*) FROM users GROUP BY active ORDER BY active;
SELECT id, level AS score FROM users WHERE id < 100 ORDER BY score, id;
SELECT level AS id FROM users WHERE id < 20 ORDER BY id;
SELECT DISTINCT level AS active FROM users ORDER BY active;
-- expect: refused
SELECT active AS level, sum(balance) FROM users GROUP BY level;
-- expect: refused
SELECT -level AS level, count(*) FROM users GROUP BY level;
-- expect: refused
SELECT level + 0 AS level, count(*) FROM users GROUP BY level ORDER BY level DESC;
SELECT level AS lv, count(*) FROM users GROUP BY lv HAVING lv > 5;
SELECT level, count(*) AS level2 FROM users GROUP BY level HAVING level2 > 400;
SELECT u.level AS id, count(*) FROM users u JOIN orders o ON o.user_id = u.id GROUP BY id ORDER BY count(*) DESC, id LIMIT 5;
-- expect: refused
SELECT u.level, o.qty AS level, count(*) FROM users u JOIN orders o ON o.user_id = u.id WHERE u.id < 50 GROUP BY u.level, level;
SELECT level, count(*) AS active FROM users GROUP BY level HAVING active > 400;
SELECT level, max(balance) AS id FROM users GROUP BY level HAVING id > 99000;
SELECT level AS active FROM users GROUP BY level HAVING active > 5;
SELECT id, balance AS b FROM users ORDER BY b * 2 DESC, id LIMIT 5;
SELECT id, level AS l FROM users ORDER BY l + id, id LIMIT 5;
-- expect: refused
SELECT YEAR(created) AS y, count(*) FROM users GROUP BY y + 0;
-- expect: refused
SELECT level AS l, count(*) FROM users GROUP BY l HAVING l + 1 > 5;
-- expect: refused
SELECT level AS l, count(*) AS c FROM users GROUP BY l ORDER BY c + 0 DESC, l;
SELECT count(*) FROM users LIMIT 0;
SELECT count(*) FROM users LIMIT 1 OFFSET 1;
SELECT level, count(*) FROM users GROUP BY level LIMIT 0;
SELECT DISTINCT level FROM users LIMIT 0;
