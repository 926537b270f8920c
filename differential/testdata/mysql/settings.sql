-- Session settings reach every shard's part of a read.
-- set: SET time_zone = '+05:00'
SELECT id, ts FROM kinds WHERE ts IS NOT NULL ORDER BY ts, id LIMIT 5;
-- set: SET time_zone = '-03:30'
SELECT min(ts), max(ts), count(*) FROM kinds;
-- set: SET time_zone = '+05:00'
SELECT HOUR(ts) AS h, count(*) FROM kinds GROUP BY h;
-- expect: refused
-- set: SET lc_time_names = 'de_DE'
SELECT DATE_FORMAT(created, '%M') AS m, count(*) FROM users WHERE id < 100 GROUP BY CAST(m AS BINARY);
-- set: SET default_week_format = 3
SELECT WEEK(created) AS w, count(*) FROM users GROUP BY w ORDER BY w LIMIT 5;
-- The proxy reads statements with MariaDB's default lexing: refused.
-- expect: refused
-- set: SET sql_mode = CONCAT(@@sql_mode, ',PIPES_AS_CONCAT')
SELECT id, 'a' || 'b' FROM users WHERE id < 4;
-- expect: refused
-- set: SET SESSION sql_mode = 'ANSI_QUOTES'
SELECT "id" FROM users WHERE id < 4;
-- set: SET div_precision_increment = 2
SELECT level, avg(balance), avg(DISTINCT qty) FROM users u JOIN orders o ON o.user_id = u.id GROUP BY level;
-- set: SET @@session.time_zone = '+00:00'
SELECT UNIX_TIMESTAMP(ts) AS t FROM kinds WHERE id < 20;
-- set: SET max_sort_length = 4
SELECT id, bname FROM users ORDER BY bname, id LIMIT 10;
-- set: SET lc_time_names = 'de_DE'
SELECT id, DATE_FORMAT(created, '%M %W') FROM users WHERE id < 30;
-- set: SET sql_mode = 'STRICT_TRANS_TABLES'
SELECT count(*), sum(balance) FROM users WHERE id > '100';
