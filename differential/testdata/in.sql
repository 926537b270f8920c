-- IN lists: one shard or several.
SELECT id, name FROM users WHERE id IN (1, 2, 3, 4, 5, 6, 7, 8);
SELECT id, name FROM users WHERE id IN (10);
SELECT * FROM users WHERE id IN (1, 1000, 2000, 3000, 4000, -5);
SELECT * FROM users WHERE id IN (1, 1000, 2000, 3000, 4000, -5) ORDER BY id;
SELECT * FROM users WHERE id IN (1, 1000, 2000, 3000, 4000, -5) ORDER BY id DESC;
SELECT id FROM users WHERE id IN (99999, 88888);
SELECT count(*) FROM users WHERE id IN (1, 2, 3, 4, 5, 6, 7, 8, 9, 10);
SELECT sum(balance) FROM users WHERE id IN (11, 22, 33, 44, 55, 66);
SELECT user_id, id, amount FROM orders WHERE user_id IN (5, 50, 500) ORDER BY user_id, id;
SELECT count(*), sum(qty) FROM orders WHERE user_id IN (5, 50, 500, 3500);
SELECT id FROM users WHERE id IN (3, 4) AND name <> '';
SELECT id FROM users WHERE id = ANY ('{1,2,3,400}');
SELECT id FROM users WHERE id NOT IN (1, 2, 3) AND id < 10;
SELECT id FROM users WHERE name IN ('alice', 'Alice', 'bob') AND id < 300;
SELECT id, user_id FROM orders WHERE status IN ('new', 'paid') AND user_id < 30;
-- args: 7 70 700
SELECT id, name FROM users WHERE id IN ($1, $2, $3) ORDER BY id;
-- args: 7 70 700
SELECT count(*) FROM orders WHERE user_id IN ($1, $2, $3);
SELECT id FROM users WHERE id IN (1, 2) OR id IN (3000, 3001);
SELECT max(id), min(id) FROM users WHERE id IN (12, 13, 14, 15, 16, 17, 18, 19, 20, 21);
SELECT avg(level) FROM users WHERE id IN (12, 13, 14, 15, 16, 17, 18, 19, 20, 21);
-- IN lists cut by shard: each shard gets only its values.
SELECT id, name FROM users WHERE id IN (1, 2, 3, 4, 5, 6, 7, 8, NULL) ORDER BY id;
SELECT id FROM users WHERE id IN (1, 2) AND id IN (2, 3, 4000);
SELECT count(*) FROM users WHERE id IN (-20, -19, 3999, 4000, 4001);
SELECT level, count(*) FROM users WHERE id IN (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12) GROUP BY level ORDER BY level;
SELECT id FROM users WHERE id IN (1.0, 2, 3.5, 7) ORDER BY id;
SELECT id FROM users WHERE id IN ('1', '2', '3000') ORDER BY id;
-- args: 1 2 3000 4000
SELECT id, level FROM users WHERE level > 0 AND id IN ($1, $2, $3, $4) ORDER BY id;
-- args: 3 10 20 30 40 50
SELECT user_id, count(*) FROM orders WHERE qty > $1 AND user_id IN ($2, $3, $4, $5, $6) GROUP BY user_id ORDER BY user_id;
-- args: 10 20 30 2
SELECT id FROM users WHERE id IN ($1, $2, $3) ORDER BY id LIMIT $4;
-- Writes with IN lists on several shards (they change nothing).
UPDATE users SET level = level WHERE id IN (1, 2000, 3000, 4000);
UPDATE users SET level = level WHERE id IN (1, 2000, 3000, 4000) RETURNING id, level;
DELETE FROM users WHERE id IN (99991, 99992, 99993, 99994);
-- args: 5 50 500
UPDATE orders SET qty = qty WHERE user_id IN ($1, $2, $3) RETURNING user_id, id;
-- args: 99991 99992 99993
DELETE FROM orders WHERE user_id IN ($3, $1, $2);
