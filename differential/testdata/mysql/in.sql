-- IN lists: on the key (cut per shard or sent whole) and on other columns.
SELECT id, name FROM users WHERE id IN (1, 2, 3, 4, 5);
SELECT id, name FROM users WHERE id IN (1, 2, 3, 4, 5) ORDER BY id;
SELECT id FROM users WHERE id IN (-20, 4000, 2000, 1000, 3);
SELECT id FROM users WHERE id IN (7);
SELECT id FROM users WHERE id IN (0, 4001, 9999);
SELECT id FROM users WHERE id IN ('10', '11', 12);
SELECT id FROM users WHERE id NOT IN (1, 2, 3) AND id < 10;
SELECT user_id, id, amount FROM orders WHERE user_id IN (10, 20, 30, 40) ORDER BY user_id, id;
SELECT count(*), sum(amount) FROM orders WHERE user_id IN (10, 20, 30, 40, 50, 60);
SELECT id, level FROM users WHERE level IN (1, 10) AND id < 100;
SELECT id FROM users WHERE id IN (1, 2) AND id IN (2, 3);
SELECT id FROM users WHERE id IN (5, 6, 7) OR id = 3999;
SELECT user_id, count(*) FROM orders WHERE user_id IN (1, 2, 3, 4, 5, 6, 7, 8) GROUP BY user_id;
SELECT id, name FROM users WHERE id IN (100, 200, 300) ORDER BY id DESC LIMIT 2;
SELECT id FROM users WHERE (id, level) IN ((1, 1), (2, 2), (3, 3), (4, 4), (5, 5), (6, 6));
SELECT id FROM users WHERE id IN (1.0, 2.0, 3);
-- args: 1 2 3 4
SELECT id, name FROM users WHERE id IN (?, ?, ?, ?);
-- args: 1000 2000 3000
SELECT id, balance FROM users WHERE id IN (?, ?, ?) ORDER BY id;
SELECT id FROM users WHERE status IN ('paid');
SELECT id, user_id FROM orders WHERE status IN ('new', 'paid') AND user_id < 20;
