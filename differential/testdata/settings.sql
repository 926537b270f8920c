-- Session settings the client changed: the shards must answer under them.
-- set: SET TimeZone = 'Asia/Tokyo'
SELECT min(created::timestamptz), max(created::timestamptz) FROM users;
-- set: SET TimeZone = 'America/New_York'
SELECT id, created::timestamptz FROM users ORDER BY created, id LIMIT 3;
-- Dates are compared across shards only in DateStyle ISO: other styles are refused.
-- set: SET DateStyle = 'SQL, DMY'
-- expect: refused
SELECT min(created), max(created) FROM users;
-- set: SET DateStyle = 'German'
-- expect: refused
SELECT DISTINCT created FROM users WHERE created < '2020-01-10' ORDER BY created;
-- set: SET extra_float_digits = 0
SELECT avg(score) FROM users WHERE id < 900000;
-- set: SET extra_float_digits = -3
SELECT id, score / 3 FROM users WHERE id < 900000 ORDER BY id LIMIT 5;
-- set: SET IntervalStyle = 'postgres_verbose'
SELECT id, make_interval(days => level) FROM users ORDER BY id LIMIT 3;
-- set: SET bytea_output = 'escape'
SELECT id, convert_to(name, 'UTF8') FROM users ORDER BY id LIMIT 5;
-- set: SET search_path = pg_catalog
SELECT count(*) FROM public.users;
-- set: SET lc_monetary = 'C'
SELECT id, balance::money FROM users ORDER BY id LIMIT 3;
-- set: SET extra_float_digits = 0
SELECT sum(score / 3) FROM users WHERE id BETWEEN 1 AND 3;
-- set: SET extra_float_digits = 0
SELECT min(score / 3), max(score / 3) FROM users WHERE id < 900000;
-- set: SET extra_float_digits = 0
SELECT level, avg(score) FROM users WHERE id < 900000 GROUP BY level ORDER BY level;
-- set: SET extra_float_digits = 0
SELECT avg(level::real) FROM users;
-- set: SET DateStyle = 'SQL, DMY'
-- expect: refused
SELECT id, created FROM users ORDER BY created, id LIMIT 3;
-- set: SET DateStyle = 'SQL, DMY'
-- expect: refused
SELECT created, count(*) FROM users WHERE created < '2020-01-05' GROUP BY created;
-- set: SET DateStyle = 'SQL, DMY'
SELECT id, created FROM users WHERE id = 5;
-- set: SET TimeZone = 'Asia/Tokyo'
SELECT DISTINCT created::timestamptz AS t FROM users WHERE created < '2020-01-05' ORDER BY t;
-- set: SET DateStyle = 'Postgres'
-- expect: refused
SELECT max(created::timestamp) FROM users;
-- set: SET client_encoding = 'LATIN1'
SELECT name, count(*) FROM users WHERE name IN ('Zoë', 'éclair', 'émile', 'ñandú', 'zoe', 'Ångström') GROUP BY name ORDER BY name;
-- set: SET client_encoding = 'LATIN1'
SELECT DISTINCT name FROM users WHERE name >= 'Z' AND name < 'ö' ORDER BY name DESC;
-- set: SET standard_conforming_strings = off
-- known: standard_conforming_strings = off: the proxy parses literals as standard strings (backslash escapes misread: wrong values after a rewrite, 42601 on \')
SELECT avg(level), 'x\ty' AS s FROM users;
-- set: SET standard_conforming_strings = off
-- known: standard_conforming_strings = off: the proxy parses literals as standard strings (backslash escapes misread: wrong values after a rewrite, 42601 on \')
SELECT count(*), 'it\'s' AS s FROM users;
-- set: SET standard_conforming_strings = off
-- known: standard_conforming_strings = off: the proxy parses literals as standard strings (backslash escapes misread: wrong values after a rewrite, 42601 on \')
SELECT id, 'a\\b' AS s FROM users ORDER BY name, id LIMIT 3;
-- set: SET standard_conforming_strings = off
-- known: standard_conforming_strings = off: the proxy parses literals as standard strings (backslash escapes misread: wrong values after a rewrite, 42601 on \')
SELECT id FROM users WHERE name <> 'O\'Brien' ORDER BY id LIMIT 3;
-- set: SET standard_conforming_strings = off
-- known: standard_conforming_strings = off: the proxy parses literals as standard strings (backslash escapes misread: wrong values after a rewrite, 42601 on \')
SELECT id FROM users WHERE name = 'O\'Brien' ORDER BY id LIMIT 3 OFFSET 1;
-- set: SET standard_conforming_strings = off
SELECT id FROM users WHERE name = 'x\ty' AND id = 5;
-- set: SET standard_conforming_strings = off
-- known: standard_conforming_strings = off: the proxy parses literals as standard strings (backslash escapes misread: wrong values after a rewrite, 42601 on \')
SELECT id FROM users WHERE name <> 'O\'Brien' AND id = 5;
