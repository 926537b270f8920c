-- Other types in sort keys, group keys and min/max.
SELECT min(created::timestamp), max(created::timestamp) FROM users;
SELECT min(created::timestamptz), max(created::timestamptz) FROM users;
SELECT id, created::timestamptz FROM users ORDER BY created, id LIMIT 3;
SELECT DISTINCT created - '2020-01-01'::date AS days FROM users ORDER BY days LIMIT 5;
SELECT max(created - '2020-01-01'::date) FROM users;
-- expect: refused
SELECT max(make_interval(days => level)), min(make_interval(days => level)) FROM users;
-- expect: refused
SELECT sum(make_interval(days => level)) FROM users;
-- expect: refused
SELECT avg(make_interval(days => level)) FROM users;
SELECT DISTINCT md5(name)::uuid AS u FROM users ORDER BY u;
SELECT DISTINCT convert_to(name, 'UTF8') AS b FROM users ORDER BY b;
SELECT DISTINCT name::char(4) AS c FROM users ORDER BY c;
-- expect: refused
SELECT name::char(4) AS c, count(*) FROM users GROUP BY c ORDER BY c;
-- expect: refused
SELECT DISTINCT jsonb_build_object('l', level, 'n', length(name)) AS j FROM users ORDER BY j;
-- expect: refused
SELECT DISTINCT ARRAY[level, level % 3] AS a FROM users ORDER BY a;
SELECT DISTINCT level::smallint FROM users ORDER BY 1;
SELECT DISTINCT level::real / 3 AS r FROM users ORDER BY r;
SELECT DISTINCT balance > 0 AS pos, level > 5 AS hi FROM users ORDER BY pos, hi;
SELECT min(level::smallint), max(level::bigint) FROM users;
SELECT sum(level::smallint), sum(level::int), sum(level::bigint) FROM users;
SELECT min(name::varchar), max(email::varchar(10)) FROM users;
SELECT DISTINCT (level % 4)::numeric(6,3) AS q FROM users ORDER BY q;
SELECT sum((level % 4)::numeric(6,3)), avg((level % 4)::numeric(6,3)) FROM users;
SELECT user_id, avg(qty) FROM orders WHERE user_id < 40 GROUP BY user_id ORDER BY user_id;
SELECT product_id, avg(ratio) FROM orders GROUP BY product_id ORDER BY product_id;
SELECT product_id, avg(amount) FROM orders GROUP BY product_id ORDER BY product_id;
SELECT user_id, avg(qty) FROM orders WHERE user_id IN (1, 2, 3, 3000, 3001) GROUP BY user_id ORDER BY user_id;
-- expect: refused
SELECT DISTINCT inet '10.0.0.0/8' + level AS ip FROM users ORDER BY ip;
-- expect: refused
SELECT level::text AS t, count(*) FROM users GROUP BY t ORDER BY t;
