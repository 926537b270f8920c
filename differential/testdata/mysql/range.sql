-- Ranges on the key and on other columns: every shard, rows concatenated.
SELECT id, name FROM users WHERE id BETWEEN 100 AND 140;
SELECT id, balance FROM users WHERE id < -10;
SELECT id FROM users WHERE id > 3990;
SELECT id FROM users WHERE id >= 3990 AND id <= 4000 ORDER BY id;
SELECT id, level FROM users WHERE level = 3 AND id < 200;
SELECT id, balance FROM users WHERE balance > 100000.00;
SELECT id, balance FROM users WHERE balance BETWEEN -10 AND 10;
SELECT id, created FROM users WHERE created = '2021-06-01';
SELECT id, created FROM users WHERE created BETWEEN '2020-01-01' AND '2020-01-10';
SELECT id FROM users WHERE id NOT BETWEEN -5 AND 3995;
SELECT user_id, id, amount FROM orders WHERE amount < 5;
SELECT user_id, id FROM orders WHERE qty = 20 AND product_id = 7;
SELECT id, score FROM users WHERE score > 8990;
SELECT id, score FROM users WHERE score < -990;
SELECT count(*) FROM users WHERE id > 2000;
SELECT id FROM users WHERE id > 100 AND id < 110 OR id = 3000;
SELECT id, updated FROM users WHERE updated < '2020-01-05';
SELECT user_id, id, placed FROM orders WHERE placed >= '2024-12-25';
-- args: 10 20
SELECT id, name FROM users WHERE id BETWEEN ? AND ?;
-- args: 3995
SELECT id FROM users WHERE id > ? ORDER BY id;
