-- float8 values with peculiar order and equality (NaN, ±Infinity, -0).
SELECT id, score FROM users WHERE id > 900000;
SELECT id, score FROM users WHERE id > 900000 ORDER BY score, id;
SELECT id, score FROM users WHERE id > 900000 ORDER BY score DESC, id;
SELECT id, score FROM users ORDER BY score DESC NULLS LAST, id LIMIT 5;
SELECT min(score), max(score) FROM users;
SELECT sum(score) FROM users WHERE id IN (900002, 900005, 1);
SELECT score, count(*) FROM users WHERE id > 900000 GROUP BY score ORDER BY score;
SELECT DISTINCT score FROM users WHERE id > 900000 ORDER BY score;
SELECT count(*) FROM users WHERE score = 0;
SELECT id FROM users WHERE score = 'NaN';
SELECT max(score) FROM users WHERE id BETWEEN 900003 AND 900004;
SELECT min(score) FROM users WHERE id IN (900001, 900005, 2, 3, 4);
