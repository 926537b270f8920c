-- Bound arguments of every kind, in scatter reads too (the text mode
-- interpolates them; prepared statements bind them).
-- args: 100.5
SELECT count(*) FROM users WHERE balance > ?;
-- args: 0.25
SELECT id, score FROM users WHERE score = ? ORDER BY id;
-- args: -1000
SELECT id FROM users WHERE score = ? ORDER BY id;
-- args: 2.5e3
SELECT count(*), sum(balance) FROM users WHERE score > ?;
-- args: '5000.00'
SELECT count(*) FROM users WHERE balance < ?;
-- args: '2021-03-04'
SELECT count(*), min(created) FROM users WHERE created >= ?;
-- args: '2021-03-04'
SELECT id, created FROM users WHERE created = ? ORDER BY id;
-- args: '99999999999999999999'
SELECT id FROM users WHERE id = ?;
-- args: '12abc'
SELECT id FROM users WHERE id = ?;
-- args: 9223372036854775807
SELECT id FROM users WHERE id = ?;
-- args: -9223372036854775808
SELECT id FROM users WHERE id < ? OR id = 3;
-- args: 'alice'
SELECT id, name FROM users WHERE name = ? AND id < 1000 ORDER BY id;
-- args: '%a%'
SELECT count(*) FROM users WHERE name LIKE ?;
-- args: 3 7
SELECT level, count(*) FROM users WHERE level BETWEEN ? AND ? GROUP BY level HAVING count(*) > 100;
-- args: 10 3
SELECT id FROM users WHERE level = ? ORDER BY id DESC LIMIT ?;
-- args: 1 2 3 4 5 6 7 8 9 10
SELECT id, name FROM users WHERE id IN (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ORDER BY id;
-- args: 1.5
SELECT id FROM users WHERE id = ?;
-- args: 7.0
SELECT id FROM users WHERE id = ?;
-- args: 20
SELECT product_id, sum(qty) FROM orders WHERE qty = ? GROUP BY product_id ORDER BY product_id;
-- args: 'paid' 10
SELECT user_id, id FROM orders WHERE status = ? AND user_id < ? ORDER BY user_id, id;
-- More NULL placement in merges.
SELECT u, count(*) FROM users WHERE u IS NULL OR u < 5 GROUP BY u ORDER BY u DESC;
SELECT score IS NULL AS s, nickname IS NULL AS n, count(*) FROM users GROUP BY s, n ORDER BY s DESC, n;
SELECT DISTINCT u FROM users WHERE u IS NULL OR u < 3 ORDER BY u DESC;
SELECT id, u FROM users WHERE id < 300 ORDER BY u DESC, id DESC LIMIT 10 OFFSET 40;
SELECT ratio, count(*) FROM orders WHERE ratio IS NULL OR ratio < 0.05 GROUP BY ratio ORDER BY ratio DESC;
SELECT count(*) FROM users WHERE id IN (1, 2) AND id IN (3);
SELECT level, max(u) FROM users GROUP BY level ORDER BY max(u) DESC, level;
SELECT level, min(score) AS m FROM users GROUP BY level ORDER BY m, level;
