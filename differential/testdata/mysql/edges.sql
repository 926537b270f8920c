-- Edge cases of the rewrite: names, aliases, hidden columns, empty inputs.
SELECT id AS level FROM users WHERE id < 5 ORDER BY level;
SELECT level AS lvl, count(*) AS `count(*)` FROM users GROUP BY lvl;
SELECT level, COUNT( * ) FROM users GROUP BY level;
SELECT level, count(*) cnt FROM users GROUP BY level ORDER BY cnt DESC, level LIMIT 4;
SELECT Level, Count(*) FROM users GROUP BY Level;
SELECT `level`, avg(`balance`) FROM `users` GROUP BY `level`;
SELECT level, avg(balance) `Average` FROM users GROUP BY level;
-- expect: refused
SELECT level, sum(balance) / count(*) FROM users GROUP BY level;
SELECT avg(balance) AS a, level FROM users GROUP BY level ORDER BY a LIMIT 3;
SELECT level, avg(balance), avg(balance) FROM users GROUP BY level;
SELECT avg(balance), sum(balance), count(balance) FROM users WHERE level = 3;
SELECT level, max(balance) FROM users GROUP BY level ORDER BY max(balance) DESC;
SELECT level FROM users GROUP BY level ORDER BY avg(balance) DESC;
-- expect: refused
SELECT level FROM users GROUP BY level ORDER BY count(DISTINCT active), level;
SELECT level, count(*) FROM users WHERE id > 100000 GROUP BY level ORDER BY level LIMIT 3;
SELECT count(*), avg(balance), count(DISTINCT level) FROM users WHERE id > 100000;
SELECT sum(DISTINCT qty) FROM orders WHERE user_id > 100000;
SELECT count(DISTINCT qty), avg(DISTINCT qty), sum(DISTINCT qty) FROM orders;
SELECT product_id, count(DISTINCT qty) AS dq FROM orders GROUP BY product_id ORDER BY dq DESC, product_id LIMIT 5;
SELECT count(*) FROM orders WHERE user_id IN (1, 2, 3) AND qty > 100;
SELECT DISTINCT level FROM users WHERE id > 100000;
SELECT id FROM users WHERE id > 100000 ORDER BY id LIMIT 5;
SELECT id, balance FROM users ORDER BY balance DESC, id LIMIT 1 OFFSET 0;
SELECT id FROM users ORDER BY id LIMIT 18446744073709551615;
SELECT id FROM users ORDER BY id LIMIT 4015, 18446744073709551615;
SELECT DISTINCT level FROM users ORDER BY level LIMIT 7, 18446744073709551615;
SELECT level, count(*) FROM users GROUP BY level LIMIT 8, 18446744073709551615;
SELECT id FROM users ORDER BY id DESC LIMIT 2 OFFSET 4018;
SELECT id, level FROM users ORDER BY level DESC, id LIMIT 5;
SELECT id, level AS l FROM users ORDER BY l, id DESC LIMIT 5;
SELECT id, balance * 2 AS b2 FROM users ORDER BY b2, id LIMIT 5;
SELECT id FROM users ORDER BY balance * 2, id LIMIT 5;
SELECT id FROM users ORDER BY score IS NULL, score, id LIMIT 5;
SELECT id, name FROM users ORDER BY id + 0 LIMIT 5;
SELECT u.id, u.level FROM users u ORDER BY u.level, u.id LIMIT 5;
SELECT users.id FROM users ORDER BY users.id LIMIT 3;
SELECT level, active, count(*) FROM users GROUP BY level, active ORDER BY level DESC, active LIMIT 6;
SELECT level, count(*) FROM users GROUP BY level HAVING count(*) > 400 ORDER BY level LIMIT 2;
SELECT level, sum(balance) FROM users GROUP BY level HAVING sum(balance) > 0 AND max(id) > 3900;
-- expect: refused
SELECT level, count(*) FROM users GROUP BY level HAVING min(created) < '2020-01-05';
SELECT DISTINCT level, level FROM users;
SELECT DISTINCT level AS a, active AS b FROM users ORDER BY b, a;
SELECT DISTINCT level + 1 FROM users ORDER BY level + 1;
SELECT level + 1, count(*) FROM users GROUP BY level + 1;
SELECT count(*) FROM users WHERE level BETWEEN 3 AND 5 GROUP BY level ORDER BY level;
SELECT max(id), min(id), count(*) FROM users GROUP BY level HAVING count(*) > 0 ORDER BY max(id) DESC;
SELECT 'x' AS k, count(*) FROM users GROUP BY k;
SELECT level, 'x', 7, NULL, count(*) FROM users GROUP BY level;
-- expect: refused
SELECT count(*) + 0 FROM users;
SELECT id, level FROM users WHERE id < 100 ORDER BY level, id LIMIT 10 OFFSET 5;
-- args: 3
SELECT level, count(*) FROM users WHERE level > ? GROUP BY level;
-- args: 5 2
SELECT level, avg(balance) FROM users GROUP BY level ORDER BY level LIMIT ? OFFSET ?;
-- args: 400
SELECT level FROM users GROUP BY level HAVING count(*) > ?;
-- args: 'a'
SELECT count(*) FROM users WHERE name = ?;
-- args: 100 200
SELECT DISTINCT level FROM users WHERE id BETWEEN ? AND ? ORDER BY level;
-- Long item texts: MariaDB truncates a generated name to 256 characters.
-- known: avg of an expression of 44+ digits: the shards' sum is capped at 65 digits, so the proxy cannot tell avg's precision (the column length; the values are right)
SELECT avg(level + level + level + level + level + level + level + level + level + level + level + level + level + level + level + level + level + level + level + level + level + level + level + level + level + level + level + level + level + level + level + level + level + level + level + level + level + level + level + level) FROM users;
SELECT count(DISTINCT level + level + level + level + level + level + level + level + level + level + level + level + level + level + level + level + level + level + level + level + level + level + level + level + level + level + level + level + level + level + level + level + level + level + level + level + level + level + level + level) FROM users;
SELECT level, sum(qty * 1 + qty * 2 + qty * 3 + qty * 4 + qty * 5 + qty * 6 + qty * 7 + qty * 8 + qty * 9 + qty * 10 + qty * 11 + qty * 12 + qty * 13 + qty * 14 + qty * 15 + qty * 16 + qty * 17 + qty * 18 + qty * 19 + qty * 20 + qty * 21 + qty * 22 + qty * 23 + qty * 24) AS `s` , avg(o.amount) FROM users u JOIN orders o ON o.user_id = u.id GROUP BY level;
