-- Aggregates without GROUP BY: re-aggregated by the proxy.
SELECT count(*) FROM users;
SELECT count(*) FROM orders;
SELECT count(*) FROM products;
SELECT count(id) FROM users;
SELECT count(nickname) FROM users;
SELECT count(score) FROM users;
SELECT count(1) FROM orders WHERE status IS NULL;
SELECT sum(balance) FROM users;
SELECT sum(amount) FROM orders;
SELECT sum(qty) FROM orders;
SELECT sum(level) FROM users;
SELECT sum(id) FROM users;
SELECT sum(ratio) FROM orders;
SELECT sum(score) FROM users WHERE id < 900000;
SELECT min(balance), max(balance) FROM users;
SELECT min(id), max(id) FROM users;
SELECT min(created), max(created) FROM users;
SELECT min(name), max(name) FROM users;
SELECT min(nickname), max(nickname) FROM users;
SELECT min(score), max(score) FROM users WHERE id < 900000;
SELECT min(ratio), max(ratio) FROM orders;
SELECT min(status), max(status) FROM orders;
SELECT count(*), sum(amount), min(amount), max(amount) FROM orders WHERE qty > 10;
SELECT count(*) AS n, sum(balance) AS total FROM users WHERE level = 7;
-- expect: refused
SELECT sum(amount) + 1 FROM orders;
SELECT count(DISTINCT name) FROM users;
-- expect: refused
SELECT string_agg(name, ',') FROM users WHERE id < 5;
-- expect: refused
SELECT array_agg(id) FROM users WHERE id < 5;
-- expect: refused
SELECT sum(amount) FILTER (WHERE qty > 5) FROM orders;
-- expect: refused
SELECT stddev(balance) FROM users;
-- expect: refused
SELECT bool_and(balance > 0) FROM users;
SELECT min(DISTINCT level), max(DISTINCT level) FROM users;
SELECT 42, count(*) FROM users;
SELECT count(*), 'x' AS label FROM orders;
SELECT max(id) FROM users WHERE id < 900000;
SELECT min(upper(name)) FROM users;
SELECT sum(qty * 2) FROM orders;
SELECT sum(balance), count(*) FROM users WHERE id > 0;
SELECT count(*) FROM users WHERE nickname IS NULL;
SELECT max(p.price), count(*) FROM orders o JOIN products p ON p.id = o.product_id;
