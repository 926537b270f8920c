-- ORDER BY with LIMIT/OFFSET: merged in order, LIMIT n+m pushed down.
SELECT id, name FROM users ORDER BY id LIMIT 10;
SELECT id, name FROM users ORDER BY id DESC LIMIT 10;
SELECT id FROM users ORDER BY id LIMIT 5 OFFSET 100;
SELECT id FROM users ORDER BY id LIMIT 100, 5;
SELECT id FROM users ORDER BY id DESC LIMIT 3 OFFSET 4015;
SELECT id FROM users ORDER BY id LIMIT 0;
SELECT id FROM users ORDER BY id LIMIT 5 OFFSET 5000;
SELECT id, balance FROM users ORDER BY balance DESC, id LIMIT 10;
SELECT id, balance FROM users ORDER BY balance, id LIMIT 10 OFFSET 10;
SELECT id, created FROM users ORDER BY created, id LIMIT 12;
SELECT id, created FROM users ORDER BY created DESC, id DESC LIMIT 12;
SELECT id, updated FROM users ORDER BY updated, id LIMIT 8;
SELECT id, updated FROM users ORDER BY updated DESC, id LIMIT 8;
SELECT id, score FROM users ORDER BY score, id LIMIT 10;
SELECT id, score FROM users ORDER BY score DESC, id LIMIT 10;
SELECT id, u FROM users ORDER BY u DESC, id LIMIT 10;
SELECT id, u FROM users ORDER BY u, id LIMIT 10 OFFSET 800;
SELECT id, dur FROM users ORDER BY dur, id LIMIT 10;
SELECT id, dur FROM users ORDER BY dur DESC, id LIMIT 10;
SELECT user_id, id, amount FROM orders ORDER BY amount DESC, user_id, id LIMIT 15;
SELECT user_id, id FROM orders ORDER BY user_id DESC, id DESC LIMIT 7;
SELECT user_id, id, placed FROM orders ORDER BY placed, user_id, id LIMIT 10;
SELECT user_id, id, ratio FROM orders ORDER BY ratio DESC, user_id, id LIMIT 10;
SELECT id, level FROM users ORDER BY level, id DESC LIMIT 20;
SELECT id FROM users ORDER BY 1 LIMIT 5;
SELECT id AS k FROM users ORDER BY k DESC LIMIT 5;
SELECT id, name FROM users ORDER BY level * 1000 + id LIMIT 6;
SELECT id FROM users ORDER BY -id LIMIT 4;
SELECT name, id FROM users WHERE id < 30 ORDER BY id;
SELECT * FROM users ORDER BY id LIMIT 3;
SELECT * FROM orders ORDER BY user_id, id LIMIT 3 OFFSET 50;
SELECT id FROM users WHERE level = 4 ORDER BY id LIMIT 20 OFFSET 10;
SELECT id, balance FROM users WHERE id < 1000 ORDER BY balance DESC, id;
SELECT id FROM users ORDER BY id LIMIT 3000, 2;
SELECT id, active FROM users ORDER BY active DESC, id LIMIT 5;
SELECT id, bname FROM users ORDER BY bname, id LIMIT 15;
SELECT id, bname FROM users ORDER BY bname DESC, id LIMIT 15;
-- args: 5 10
SELECT id FROM users ORDER BY id LIMIT ? OFFSET ?;
-- args: 3
SELECT id, balance FROM users ORDER BY balance DESC, id LIMIT ?;
-- args: 2 4
SELECT id FROM users ORDER BY id DESC LIMIT ?, ?;
