-- Ranges and filters without the key: every shard.
SELECT id FROM users WHERE id BETWEEN 100 AND 140;
SELECT id, name FROM users WHERE id > 3990;
SELECT id, name FROM users WHERE id < -15;
SELECT id FROM users WHERE id >= 3995 OR id <= -18;
SELECT id, balance FROM users WHERE balance > 99000;
SELECT id, level FROM users WHERE level = 3 AND id < 200;
SELECT id FROM users WHERE name = 'Zoë';
SELECT id FROM users WHERE email LIKE 'u12%';
SELECT id, created FROM users WHERE created = '2021-06-01';
SELECT id FROM users WHERE created BETWEEN '2024-01-01' AND '2024-01-10';
SELECT id, user_id, amount FROM orders WHERE amount > 999.00;
SELECT id, user_id FROM orders WHERE status = 'cancelled' AND qty = 20 AND product_id = 7;
SELECT id, user_id, ratio FROM orders WHERE ratio = 3;
SELECT id FROM orders WHERE user_id BETWEEN 10 AND 20;
SELECT id, name FROM users WHERE name ILIKE 'ALICE' AND id < 500;
SELECT id FROM users WHERE balance BETWEEN -10 AND 10;
SELECT id FROM users WHERE id <> 1 AND id < 5;
SELECT * FROM users WHERE id > 5000 AND id < 900000;
SELECT * FROM events;
SELECT id, upper(name), length(email) FROM users WHERE id < 12;
SELECT id, balance * 2, balance + 0.005 FROM users WHERE id < 10;
SELECT id, score / 4 FROM users WHERE id BETWEEN 30 AND 50;
SELECT id, created + 1 FROM users WHERE id BETWEEN 60 AND 70;
SELECT id, coalesce(nickname, '?') FROM users WHERE id BETWEEN 70 AND 90;
SELECT id, CASE WHEN balance < 0 THEN 'neg' ELSE 'pos' END FROM users WHERE id < 30;
-- args: 3000 3010
SELECT id, name FROM users WHERE id BETWEEN $1 AND $2;
-- args: 'bob'
SELECT id FROM users WHERE name = $1 AND id < 1000;
-- args: 990
SELECT id, user_id FROM orders WHERE amount > $1;
SELECT 1 AS one, id FROM users WHERE id < 3;
SELECT id, id FROM users WHERE id > 3998;
