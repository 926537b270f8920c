-- Aggregates, collations and expressions beyond the merge's reach are refused;
-- the rest answered (session 5 probe).
-- expect: refused
SELECT count(*) FILTER (WHERE level = 1) FROM users;
-- expect: refused
SELECT level, count(*) FILTER (WHERE balance > 0) FROM users GROUP BY level ORDER BY level;
-- expect: refused
SELECT string_agg(name, ',') FROM users WHERE id < 5;
-- expect: refused
SELECT bool_and(balance > 0), bool_or(balance > 0) FROM users;
-- expect: refused
SELECT coalesce(max(id), 0) FROM users;
-- expect: refused
SELECT level, count(*) FROM users GROUP BY ROLLUP (level) ORDER BY 1;
SELECT min(name COLLATE "C"), max(name COLLATE "C") FROM users;
SELECT name FROM users ORDER BY name COLLATE "C" LIMIT 5;
-- expect: refused
SELECT name FROM users ORDER BY name COLLATE "en_US" LIMIT 5;
-- expect: refused
SELECT level * 2 AS l2, count(*) FROM users GROUP BY l2 ORDER BY l2;
SELECT level, sum(balance) FROM users GROUP BY level ORDER BY sum(balance) DESC LIMIT 3;
SELECT count(DISTINCT level) FROM users;
-- expect: refused
SELECT count(DISTINCT (level, id % 3)) FROM users;
SELECT sum(DISTINCT qty) FROM orders;
-- expect: refused
SELECT stddev(balance) FROM users;
-- expect: refused
SELECT variance(qty) FROM orders;
-- expect: refused
SELECT every(qty > 0) FROM orders;
SELECT id FROM users ORDER BY id OFFSET 3990;
SELECT id FROM users ORDER BY id DESC LIMIT 0;
SELECT max(created), min(created) FROM users;
SELECT count(*) FROM users WHERE name ILIKE 'a%';
SELECT level, max(name) FROM users GROUP BY level ORDER BY level;
-- expect: refused
SELECT avg(qty)::numeric(10,2) FROM orders;
-- expect: refused
SELECT round(avg(amount), 2) FROM orders;
SELECT count(*) AS c FROM orders GROUP BY status HAVING count(*) > 1 ORDER BY c;
-- expect: refused
SELECT json_agg(id) FROM users WHERE id < 3;
-- expect: refused
SELECT array_agg(id) FROM users WHERE id < 3;
-- expect: refused
SELECT mode() WITHIN GROUP (ORDER BY level) FROM users;
-- expect: refused
SELECT bit_and(level), bit_or(level) FROM users;
SELECT id, name FROM users ORDER BY 2, 1 LIMIT 7;
SELECT count(1), count(nickname), count(*) FROM users;
SELECT sum(score), avg(score) FROM users;
SELECT max(ratio), sum(ratio) FROM orders;
SELECT level FROM users GROUP BY level HAVING max(balance) > 0 ORDER BY level;
SELECT 1 FROM users LIMIT 1;
SELECT count(*) FROM users u, products p WHERE p.id = 1;
-- expect: refused
SELECT current_database(), count(*) FROM users;
-- expect: refused
SELECT now() > '2000-01-01', count(*) FROM users;
