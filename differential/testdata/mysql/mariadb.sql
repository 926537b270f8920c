-- MariaDB / MySQL syntax the endpoint must read.
SELECT SQL_NO_CACHE count(*) FROM users;
SELECT HIGH_PRIORITY id FROM users WHERE id < 5;
SELECT STRAIGHT_JOIN u.id, o.id FROM users u JOIN orders o ON o.user_id = u.id WHERE u.id < 5;
SELECT id FROM users USE INDEX (PRIMARY) WHERE id < 5;
SELECT id FROM users FORCE INDEX (PRIMARY) WHERE id BETWEEN 10 AND 12;
SELECT /*+ MAX_EXECUTION_TIME(10000) */ count(*) FROM users;
SELECT id /* a comment */ FROM users WHERE id < 3;
SELECT id FROM users WHERE id < 3 -- a trailing comment
;
SELECT id FROM users WHERE id < 3 # a hash comment
;
SELECT /*! count(*) */ FROM users;
SELECT /*!50001 count(*) */ FROM users;
SELECT /*M! count(*) */ FROM users;
SELECT /*M!100100 count(*) */ FROM users;
SELECT /*!100100 count(*) */ FROM users;
SELECT /*!100100 count(*), */ 1 FROM users;
SELECT {d '2024-01-01'} AS d;
SELECT id, {d '2024-01-01'} FROM users WHERE id = 3;
SELECT count(*) FROM users WHERE created < {d '2021-01-01'};
SELECT {ts '2024-01-01 10:00:00'}, {t '10:00:00'};
SELECT id FROM users WHERE id = '78100.0';
SELECT count(*) FROM users WHERE id = ' 15';
SELECT id, name FROM users WHERE id = 0x10;
SELECT id FROM users WHERE id MOD 1000 = 0;
SELECT id FROM users WHERE id % 1000 = 7 AND id DIV 1000 = 2;
SELECT id, IF(level > 5, 'hi', 'lo') FROM users WHERE id < 10;
SELECT id, CASE WHEN level > 5 THEN 'hi' ELSE 'lo' END AS l FROM users WHERE id < 10 ORDER BY id;
SELECT id FROM users WHERE id < 10 AND level XOR active;
SELECT id FROM users WHERE id < 10 && level > 2 || id = 3999;
SELECT id FROM users WHERE NOT id != 5;
-- expect: refused
SELECT id, name FROM users WHERE id < 10 LOCK IN SHARE MODE;
SELECT count(*) FROM `users`;
SELECT `u`.`id` FROM `users` AS `u` WHERE `u`.`id` = 9;
SELECT id FROM users WHERE id = 9 LIMIT 1;
SELECT id, _utf8mb4'x' COLLATE utf8mb4_bin FROM users WHERE id < 3;
SELECT id, CONVERT(name USING utf8mb4) FROM users WHERE id < 5;
SELECT @@version_comment IS NOT NULL;
SELECT 1 + 1, 'a' 'b', "dq";
-- expect: refused
SELECT id FROM users WHERE id IN (SELECT 5);
-- expect: refused
SELECT id FROM users WHERE id BETWEEN 1 AND 3 ORDER BY id LIMIT 10 ROWS EXAMINED 100000;
SELECT id FROM users WHERE id = 7 FOR UPDATE;
SELECT VALUE(id) FROM users WHERE id = 1;
SELECT id, name FROM users WHERE id = 3 LIMIT 1 ROWS EXAMINED 1000;
SELECT id FROM users WHERE id = 3 ORDER BY id LIMIT ROWS EXAMINED 1000;
-- expect: refused
SELECT id FROM users WHERE id IN (3, 4) ORDER BY id LIMIT ROWS EXAMINED 1000;
SET STATEMENT max_statement_time = 10 FOR SELECT id, name FROM users WHERE id = 5;
-- expect: refused
SET STATEMENT max_statement_time = 10 FOR SELECT count(*) FROM users;
SELECT id FROM users WHERE id = 6 /* comment */ LIMIT 1;
SELECT COUNT(*) FROM users WHERE id > 10 AND id < 20 -- done
;
SELECT id, name FROM users WHERE id = 5 AND name = _utf8mb4'x' COLLATE utf8mb4_bin;
-- expect: refused
SELECT id FROM users WHERE id = 5 UNION SELECT id FROM users WHERE id = 5;
-- expect: refused
SELECT id FROM users WHERE id = 5 AND EXISTS (SELECT 1 FROM orders WHERE orders.user_id = 5);
SELECT SQL_CALC_FOUND_ROWS id FROM users WHERE id = 5 LIMIT 1;
SELECT id FROM users WHERE id = 5 INTO @x;
SELECT id, JSON_OBJECT('n', name) FROM users WHERE id < 4;
SELECT id, name FROM users WHERE id < 4 AND name NOT REGEXP '^x';
-- known: SOUNDS LIKE is rejected by vitess' grammar (1064)
SELECT id FROM users WHERE id < 10 AND name SOUNDS LIKE 'alice';
SELECT id FROM users WHERE (id, level) = (5, 5) OR id = -3;
SELECT id FROM users WHERE id = -(-7);
SELECT id FROM users WHERE id = 8 XOR 0;
