-- SQL-level PREPARE and EXECUTE of scatter reads. PREPARE through the
-- extended protocol is refused by design: these run in the simple mode.
-- modes: simple
-- set: PREPARE p1 AS SELECT id FROM users ORDER BY id LIMIT $1
EXECUTE p1(5);
-- modes: simple
-- set: PREPARE p2 AS SELECT id, name FROM users WHERE id > $1 ORDER BY id LIMIT $2 OFFSET $3
EXECUTE p2(100, 4, 2);
-- modes: simple
-- set: PREPARE p3 AS SELECT level, count(*), avg(balance) FROM users WHERE level >= $1 GROUP BY level ORDER BY level
EXECUTE p3(7);
-- modes: simple
-- set: PREPARE p4 AS SELECT count(*), sum(amount) FROM orders WHERE status = $1
EXECUTE p4('paid');
-- modes: simple
-- set: PREPARE p5 AS SELECT DISTINCT status FROM orders WHERE qty > $1 ORDER BY status
EXECUTE p5(18);
-- modes: simple
-- set: PREPARE p6 AS SELECT id, name FROM users WHERE id IN ($1, $2, $3) ORDER BY id
EXECUTE p6(1, 2000, 3999);
-- modes: simple
-- set: PREPARE p7(bigint) AS SELECT avg(id) FROM users WHERE id < $1
EXECUTE p7(1000);
-- modes: simple
-- set: PREPARE p8 AS SELECT id FROM users ORDER BY id DESC LIMIT $1
EXECUTE p8('3');
-- modes: simple
-- set: PREPARE p9(int, text) AS SELECT level, count(*) FROM users WHERE id IN ($1, 3000, 4000) AND name <> $2 GROUP BY level HAVING count(*) >= $1 ORDER BY level
EXECUTE p9(1, 'x');
-- modes: simple
-- set: PREPARE p10 AS SELECT count(DISTINCT name), sum(DISTINCT level) FROM users WHERE id < $1
EXECUTE p10(-3);
-- modes: simple
-- set: PREPARE p11 AS SELECT id FROM users WHERE id > $1 ORDER BY id LIMIT 3
-- expect: refused
EXECUTE p11(1 + 1);
