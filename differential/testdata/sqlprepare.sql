-- SQL-level PREPARE and EXECUTE of scatter reads. PREPARE through the
-- extended protocol is refused by design (pgx's extended modes here).
-- set: PREPARE p1 AS SELECT id FROM users ORDER BY id LIMIT $1
-- known: refused: EXECUTE of a scatter SELECT, with a stale message (extended protocol "not supported yet", hint: use the simple protocol); PREPARE through the extended protocol is refused by design
EXECUTE p1(5);
-- set: PREPARE p2 AS SELECT id, name FROM users WHERE id > $1 ORDER BY id LIMIT $2 OFFSET $3
-- known: refused: EXECUTE of a scatter SELECT, with a stale message (extended protocol "not supported yet", hint: use the simple protocol); PREPARE through the extended protocol is refused by design
EXECUTE p2(100, 4, 2);
-- set: PREPARE p3 AS SELECT level, count(*), avg(balance) FROM users WHERE level >= $1 GROUP BY level ORDER BY level
-- known: refused: EXECUTE of a scatter SELECT, with a stale message (extended protocol "not supported yet", hint: use the simple protocol); PREPARE through the extended protocol is refused by design
EXECUTE p3(7);
-- set: PREPARE p4 AS SELECT count(*), sum(amount) FROM orders WHERE status = $1
-- known: refused: EXECUTE of a scatter SELECT, with a stale message (extended protocol "not supported yet", hint: use the simple protocol); PREPARE through the extended protocol is refused by design
EXECUTE p4('paid');
-- set: PREPARE p5 AS SELECT DISTINCT status FROM orders WHERE qty > $1 ORDER BY status
-- known: refused: EXECUTE of a scatter SELECT, with a stale message (extended protocol "not supported yet", hint: use the simple protocol); PREPARE through the extended protocol is refused by design
EXECUTE p5(18);
-- set: PREPARE p6 AS SELECT id, name FROM users WHERE id IN ($1, $2, $3) ORDER BY id
-- known: refused: EXECUTE of a scatter SELECT, with a stale message (extended protocol "not supported yet", hint: use the simple protocol); PREPARE through the extended protocol is refused by design
EXECUTE p6(1, 2000, 3999);
-- set: PREPARE p7(bigint) AS SELECT avg(id) FROM users WHERE id < $1
-- known: refused: EXECUTE of a scatter SELECT, with a stale message (extended protocol "not supported yet", hint: use the simple protocol); PREPARE through the extended protocol is refused by design
EXECUTE p7(1000);
-- set: PREPARE p8 AS SELECT id FROM users ORDER BY id DESC LIMIT $1
-- known: refused: EXECUTE of a scatter SELECT, with a stale message (extended protocol "not supported yet", hint: use the simple protocol); PREPARE through the extended protocol is refused by design
EXECUTE p8('3');
